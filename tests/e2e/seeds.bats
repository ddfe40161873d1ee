#!/usr/bin/env bats
# The Docker course notes berth was conceived from (shared/seeds/), walked
# through with the real docker CLI 28 against berthd: each test runs the
# commands of one section of the notes, in their order, with busybox in
# place of centos/nginx/netshoot (no test reaches the internet), and checks
# what the notes say happens. `docker build` (sessions 9-10) is not here.

bats_require_minimum_version 1.5.0
load ../helpers/berth

setup_file() {
  start_berthd
  import_busybox
  export WORK=$BERTHD_DIR/seeds
  mkdir -p "$WORK"
}

teardown_file() {
  stop_berthd
}

# A terminal for `docker run -it` / `docker exec -it`, as a user has one.
# script(1) echoes the EOF of its (empty) stdin as "^@"; drop that echo.
tty_run() {
  local cmd
  cmd=$(printf '%q ' "$@")
  script -qec "$cmd" /dev/null </dev/null | tr -d '\r' | sed 's/^\^@//'
}

@test "notes: docker --version, version, info (--format LoggingDriver)" {
  run docker --version
  [[ $output == "Docker version "* ]]
  run docker version --format '{{.Server.APIVersion}}'
  [ "$status" -eq 0 ]
  [ "$output" = 1.41 ]
  run docker info --format '{{.LoggingDriver}}'
  [ "$output" = json-file ]
  run docker info
  [ "$status" -eq 0 ]
  [[ $output == *"Storage Driver: overlay2"* ]]
}

@test "notes: run, run -it, run -d, -itd, ps -a/-q/-n/-l/-s/-f, rm, rm -f \$(docker ps -qa)" {
  run docker run busybox echo hello
  [ "$output" = hello ]
  run tty_run docker run -it --rm busybox sh -c 'tty; echo $TERM'
  [ "$status" -eq 0 ]
  [[ ${lines[0]} == /dev/pts/* ]]
  [ "${lines[1]}" = xterm ]
  docker run -d --name s1 busybox sleep 300
  docker run -itd --name s2 busybox sh
  docker run -id --name s3 busybox sh
  [ "$(docker inspect -f '{{.State.Running}} {{.Config.Tty}} {{.Config.OpenStdin}}' s2)" = "true true true" ]
  [ "$(docker inspect -f '{{.State.Running}} {{.Config.Tty}} {{.Config.OpenStdin}}' s3)" = "true false true" ]
  run docker ps -q
  [ "${#lines[@]}" -ge 3 ]
  run docker ps -n=1 --format '{{.Names}}'
  [ "$output" = s3 ]
  run docker ps -l --format '{{.Names}}'
  [ "$output" = s3 ]
  run docker ps -f status=exited --format '{{.Command}}'
  [[ $output == *echo* ]]
  run docker ps -s --format '{{.Names}} {{.Size}}' -f name=s1
  [[ $output == "s1 "*"(virtual "* ]]
  run docker rm s1
  [ "$status" -ne 0 ]
  [[ $output == *"You cannot remove a running container"* ]]
  docker rm -f $(docker ps -qa)
  [ -z "$(docker ps -qa)" ]
}

@test "notes: tag, image prune, inspect, rmi, search/push/pull with a registry" {
  start_registry
  docker tag busybox:latest "$REGISTRY_ADDR/busybox:seed"
  docker push "$REGISTRY_ADDR/busybox:seed"
  run docker search "$REGISTRY_ADDR/busybox"
  [[ $output == *busybox* ]]
  docker rmi "$REGISTRY_ADDR/busybox:seed"
  run docker image ls --format '{{.Repository}}:{{.Tag}}'
  [[ $output != *"$REGISTRY_ADDR/busybox:seed"* ]]
  docker pull "$REGISTRY_ADDR/busybox:seed"
  run docker images --format '{{.Repository}}:{{.Tag}}'
  [[ $output == *"$REGISTRY_ADDR/busybox:seed"* ]]
  [ "$(docker inspect -f '{{.Id}}' "$REGISTRY_ADDR/busybox:seed")" = "$(docker inspect -f '{{.Id}}' busybox)" ]
  run docker image prune -f
  [ "$status" -eq 0 ]
  [[ $output == *"Total reclaimed space"* ]]
  docker rmi "$REGISTRY_ADDR/busybox:seed"
  docker inspect busybox >/dev/null
  # Started inside this test, so stopped here: teardown_file cannot see its
  # pid, and a registry left running holds bats' output pipe open.
  stop_registry
}

@test "notes: attach, exec -it -w, exec -it -e, stop -t, start, restart, wait" {
  docker run -d --name ex busybox sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done'
  run tty_run docker exec -it -w /home ex pwd
  [ "$output" = /home ]
  run tty_run docker exec -it -e myvar=value ex sh -c 'echo $myvar'
  [ "$output" = value ]
  run docker stop -t 20 ex
  [ "$output" = ex ]
  [ "$(docker inspect -f '{{.State.ExitCode}}' ex)" = 0 ]
  docker start ex
  docker restart -t 1 ex
  [ "$(docker inspect -f '{{.State.Running}} {{.RestartCount}}' ex)" = "true 0" ]
  docker rm -f ex
  # attach: see the output of a running container.
  docker run -d --name at busybox sh -c 'sleep 1; echo from-attach'
  run timeout 20 docker attach at
  [ "$output" = from-attach ]
  run docker wait at
  [ "$output" = 0 ]
  docker rm at
}

@test "notes: cp both ways" {
  docker run -d --name cpc busybox sleep 300
  echo host-file > "$WORK/in.txt"
  docker cp "$WORK/in.txt" cpc:/tmp/in.txt
  [ "$(docker exec cpc cat /tmp/in.txt)" = host-file ]
  docker exec cpc sh -c 'echo ctr-file > /tmp/out.txt'
  docker cp cpc:/tmp/out.txt "$WORK/out.txt"
  [ "$(cat "$WORK/out.txt")" = ctr-file ]
  docker rm -f cpc
}

@test "notes: run -e myenv, logs, pause/unpause, rename" {
  docker run -d -e myenv=123 --name cont busybox sh -c 'echo env=$myenv; sleep 300'
  sleep 0.5
  run docker logs cont
  [ "$output" = env=123 ]
  docker pause cont
  [ "$(docker inspect -f '{{.State.Status}}' cont)" = paused ]
  docker unpause cont
  [ "$(docker inspect -f '{{.State.Status}}' cont)" = running ]
  docker rename cont cont2
  [ "$(docker inspect -f '{{.Name}}' cont2)" = /cont2 ]
  docker rm -f cont2
}

@test "notes: events --since/--until, --filter event=, container=, type=network, type=volume, scope" {
  start=$(date +%s)
  docker run -d --name ev busybox sleep 300
  docker stop -t 0 ev
  docker network create evnet
  docker network rm evnet
  docker volume create evvol
  docker volume rm evvol
  sleep 1
  end=$(date +%s)
  run docker events --since "$start" --until "$end" --filter event=stop --format '{{.Actor.Attributes.name}} {{.Action}}'
  [ "$output" = "ev stop" ]
  run docker events --since "$start" --until "$end" --filter container=ev --format '{{.Action}}'
  [[ $output == *create*start*die*stop* ]]
  run docker events --since "$start" --until "$end" --filter type=network --format '{{.Type}} {{.Action}}'
  [[ $output == *"network create"*"network destroy"* ]]
  run docker events --since "$start" --until "$end" --filter type=volume --format '{{.Type}} {{.Action}}'
  [[ $output == *"volume create"*"volume destroy"* ]]
  run docker events --since 20m --until "$end" --filter container=ev --format '{{.Action}}'
  [[ $output == *stop* ]]
  run docker events --since "$start" --until "$end" --filter scope=swarm
  [ "$status" -eq 0 ]
  [ -z "$output" ]
  docker rm ev
}

@test "notes: commit --change, save -o / load -i / load <, export --output / >, import, tag by id, history" {
  docker run -d --name cm busybox sh -c 'echo committed > /made; sleep 300'
  sleep 0.5
  docker commit --change='CMD ["/bin/sh"]' cm seed/committed:v1
  [ "$(docker inspect -f '{{json .Config.Cmd}}' seed/committed:v1)" = '["/bin/sh"]' ]
  [ "$(docker run --rm seed/committed:v1 cat /made)" = committed ]
  docker save -o "$WORK/img.tar.gz" seed/committed:v1
  docker rmi seed/committed:v1
  run docker load -i "$WORK/img.tar.gz"
  [[ $output == *"Loaded image: seed/committed:v1"* ]]
  docker rmi seed/committed:v1
  run docker load < "$WORK/img.tar.gz"
  [[ $output == *"Loaded image: seed/committed:v1"* ]]
  docker export --output="$WORK/exp.tar" cm
  docker export cm > "$WORK/exp2.tar"
  tar tf "$WORK/exp.tar" | grep -qx made
  tar tf "$WORK/exp2.tar" | grep -qx made
  id=$(docker import "$WORK/exp.tar")
  docker tag "$id" seed/imported:v2
  [ "$(docker run --rm seed/imported:v2 cat /made)" = committed ]
  run docker history seed/committed:v1
  [ "$status" -eq 0 ]
  [[ ${lines[0]} == "IMAGE "*"CREATED BY"* ]]
  docker rm -f cm
  docker rmi seed/committed:v1 seed/imported:v2
}

@test "notes: logging — --log-driver, inspect LogConfig.Type, log-opts, non-blocking mode" {
  docker run -d --name lg --log-driver none busybox echo hi
  [ "$(docker inspect -f '{{.HostConfig.LogConfig.Type}}' lg)" = none ]
  docker run -d --name lj --log-opt max-size=10m --log-opt max-file=3 --log-opt labels=production_status \
    --label production_status=yes --log-opt mode=non-blocking busybox echo hi
  docker wait lj
  [ "$(docker inspect -f '{{.HostConfig.LogConfig.Type}}' lj)" = json-file ]
  log=$(docker inspect -f '{{.LogPath}}' lj)
  [ "$log" = "$BERTHD_DIR/data/containers/$(docker inspect -f '{{.Id}}' lj)/$(docker inspect -f '{{.Id}}' lj)-json.log" ]
  grep -q '"attrs":{"production_status":"yes"}' "$log"
  docker rm lg lj
}

@test "notes: volumes — create --name --label, -v, inspect, ls -f, ps --filter volume=, rm in use, prune" {
  docker volume create --name myvol --label testvol
  docker run -d -v myvol:/data --name mycent busybox sh -c 'echo kept > /data/f; sleep 300'
  run docker volume inspect -f '{{.Name}} {{.Driver}} {{json .Labels}}' myvol
  [ "$output" = 'myvol local {"testvol":""}' ]
  run docker volume ls -f label=testvol --format '{{.Name}}'
  [ "$output" = myvol ]
  run docker ps --filter volume=myvol --format '{{.Names}}'
  [ "$output" = mycent ]
  docker stop -t 0 mycent
  run docker volume rm myvol
  [ "$status" -ne 0 ]
  [[ $output == *"volume is in use"* ]]
  docker rm mycent
  [ "$(docker run --rm -v myvol:/data busybox cat /data/f)" = kept ]
  docker volume rm myvol
  docker volume create prunable
  # API 1.41 semantics: prune removes every unused volume, named ones too
  # (the CLI's -a needs API 1.42).
  run docker volume prune -f
  [[ $output == *prunable* ]]
}

@test "notes: NFS volume create (no NFS client here: the mount fails clearly on first use)" {
  docker volume create --driver local --opt type=nfs --opt o=addr=127.0.0.1,rw --opt device=:/export nfsvol
  run docker volume inspect -f '{{json .Options}}' nfsvol
  [[ $output == *'"type":"nfs"'* ]]
  run docker run --rm -v nfsvol:/data busybox true
  [ "$status" -ne 0 ]
  [[ $output == *nfs* ]]
  docker volume rm nfsvol
}

@test "notes: --read-only with --mount type=volume; --tmpfs and --mount type=tmpfs" {
  docker run -d --name ro --read-only --mount type=volume,source=rovol,target=/data busybox sleep 300
  docker exec ro sh -c 'echo ok > /data/x'
  run docker exec ro sh -c 'echo no > /x'
  [ "$status" -ne 0 ]
  [[ $output == *"Read-only file system"* ]]
  docker rm -f ro
  docker volume rm rovol
  run docker run --rm --tmpfs /tmp busybox sh -c 'grep " /tmp " /proc/mounts'
  [[ $output == "tmpfs /tmp tmpfs"* ]]
  run docker run --rm --mount type=tmpfs,destination=/tmp busybox sh -c 'grep " /tmp " /proc/mounts'
  [[ $output == "tmpfs /tmp tmpfs"* ]]
  run docker run --rm --mount type=bind,source=/nonexistent-seed,target=/x busybox true
  [ "$status" -ne 0 ]
  [[ $output == *"bind source path does not exist: /nonexistent-seed"* ]]
}

@test "notes: networks — create -d bridge, --network, DNS on user networks only, connect/disconnect" {
  docker network create -d bridge seednet
  docker run -d --name web1 --network seednet busybox sleep 300
  run docker run --rm --network seednet busybox ping -c1 -W2 web1
  [ "$status" -eq 0 ]
  docker run -d --name onbridge busybox sleep 300
  run docker run --rm busybox ping -c1 -W2 onbridge
  [ "$status" -ne 0 ]
  docker network connect seednet onbridge
  run docker exec onbridge ping -c1 -W2 web1
  [ "$status" -eq 0 ]
  docker network disconnect seednet onbridge
  run docker exec onbridge ping -c1 -W2 web1
  [ "$status" -ne 0 ]
  docker rm -f web1 onbridge
  docker network rm seednet
}

@test "notes: -p publish and port; static IPs with --subnet, connect --ip, run --ip" {
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  docker run -d --name pub -p "$port:80" busybox sh -c 'mkdir -p /www; echo seed-page > /www/index.html; httpd -f -p 80 -h /www'
  run docker port pub
  [[ $output == *"80/tcp -> 0.0.0.0:$port"* ]]
  for i in $(seq 50); do curl -sf "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.1; done
  [ "$(curl -sf "http://127.0.0.1:$port/")" = seed-page ]
  docker rm -f pub
  docker run -itd --name cent1 busybox
  docker network create --subnet 192.168.100.0/24 mynet
  docker network connect --ip 192.168.100.10 mynet cent1
  [ "$(docker inspect -f '{{.NetworkSettings.Networks.mynet.IPAddress}}' cent1)" = 192.168.100.10 ]
  docker run -itd --name cent2 --network mynet --ip 192.168.100.20 busybox
  run docker exec cent2 ip -4 -o addr show eth0
  [[ $output == *"192.168.100.20/24"* ]]
  run docker exec cent2 ping -c1 -W2 192.168.100.10
  [ "$status" -eq 0 ]
  docker rm -f cent1 cent2
  docker network rm mynet
}

@test "notes: --net container:X, --net host, --cap-add NET_ADMIN --cap-add CAP_NET_RAW, --privileged" {
  docker run -d --name mynginx busybox httpd -f -p 8080
  run docker run --rm --network container:mynginx busybox netstat -ltn
  [[ $output == *":8080"* ]]
  run docker run --rm --net host busybox cat /proc/net/dev
  [[ $output == *eth0* ]]
  run docker run --rm --cap-add NET_ADMIN --cap-add CAP_NET_RAW --network container:mynginx busybox ip link set lo mtu 1500
  [ "$status" -eq 0 ]
  run docker run --rm --network container:mynginx busybox ip link set lo mtu 1400
  [ "$status" -ne 0 ]
  run docker run --rm --privileged busybox sh -c 'ls /dev | grep -c .'
  [ "$output" -gt 20 ]
  docker rm -f mynginx
}

@test "notes: resources — -m 400M --memory-swap -1, --cpuset-cpus, stats" {
  docker run -d --name lim -m 400M --memory-swap -1 --cpuset-cpus=1 busybox sleep 300
  [ "$(docker inspect -f '{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.CpusetCpus}}' lim)" = "419430400 -1 1" ]
  run docker stats --no-stream --format '{{.Name}} {{.MemUsage}}' lim
  [[ $output == "lim "*"400MiB" ]]
  run docker run --rm --cpuset-cpus="1,3" busybox true
  [ "$status" -eq 125 ]
  [[ $output == *"Requested CPUs are not available"* ]]
  docker rm -f lim
}

@test "notes: restart policies and live restore from daemon.json" {
  docker run -d --name rs --restart on-failure:2 busybox false
  for i in $(seq 100); do [ "$(docker inspect -f '{{.RestartCount}}' rs)" = 2 ] && break; sleep 0.1; done
  [ "$(docker inspect -f '{{.RestartCount}}' rs)" = 2 ]
  docker run -d --name always --restart always busybox sleep 300
  docker rm -f rs
  # {"live-restore": true} in daemon.json, then a reload (SIGHUP).
  echo '{"live-restore": true}' > "$BERTHD_DIR/daemon.json"
  kill -HUP "$(berthd_pid)"
  for i in $(seq 50); do [ "$(docker info --format '{{.LiveRestoreEnabled}}')" = true ] && break; sleep 0.1; done
  [ "$(docker info --format '{{.LiveRestoreEnabled}}')" = true ]
  pid=$(docker inspect -f '{{.State.Pid}}' always)
  kill9_berthd
  kill -0 "$pid"
  restart_berthd
  [ "$(docker inspect -f '{{.State.Pid}}' always)" = "$pid" ]
  docker rm -f always
}
