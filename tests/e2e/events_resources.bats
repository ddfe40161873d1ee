#!/usr/bin/env bats
# Events beyond a container's own lifecycle, as dockerd 20.10 emits them
# (sequences taken from a private dockerd): auto-restarts (die then start,
# no "restart"), health probes as execs, network, volume and image events.

bats_require_minimum_version 1.5.0
load ../helpers/berth

setup_file() {
  start_berthd
  import_busybox busybox:latest
}

teardown_file() {
  stop_berthd
}

ev() {  # ev SINCE FILTER... : the backlog up to now, one line per event
  local since=$1
  shift
  docker events --since "$since" --until "$(($(date +%s) + 1))" "$@"
}

@test "events: an auto-restart emits die then start (dockerd emits no restart event for it)" {
  t0=$(date +%s)
  docker run -d --name rs1 --restart on-failure:2 busybox sh -c 'exit 3' >/dev/null
  for ((i = 0; i < 100; i++)); do
    [ "$(docker inspect -f '{{.RestartCount}} {{.State.Status}}' rs1)" = "2 exited" ] && break
    sleep 0.1
  done
  run ev "$t0" --filter container=rs1 --format '{{.Type}} {{.Action}} {{.Actor.Attributes.exitCode}}'
  [ "$output" = "container create <no value>
container start <no value>
container die 3
container start <no value>
container die 3
container start <no value>
container die 3" ]
  docker rm rs1 >/dev/null
}

@test "events: health probes are exec_create/exec_start/exec_die with one execID, before health_status" {
  t0=$(date +%s)
  docker run -d --name hcev --health-cmd true --health-interval 1s busybox sleep 60 >/dev/null
  for ((i = 0; i < 100; i++)); do
    [ "$(docker inspect -f '{{.State.Health.Status}}' hcev)" = healthy ] && break
    sleep 0.1
  done
  docker rm -f hcev >/dev/null
  run ev "$t0" --filter container=hcev --filter type=container --format '{{.Action}}|{{.Actor.Attributes.execID}}|{{.Actor.Attributes.exitCode}}|{{.Actor.Attributes.name}}'
  echo "$output"
  [ "${lines[0]%%|*}" = create ]
  [ "${lines[1]%%|*}" = start ]
  IFS='|' read -r a1 x1 c1 n1 <<<"${lines[2]}"
  IFS='|' read -r a2 x2 c2 n2 <<<"${lines[3]}"
  IFS='|' read -r a3 x3 c3 n3 <<<"${lines[4]}"
  [ "$a1" = "exec_create: /bin/sh -c true" ]
  [ "$a2" = "exec_start: /bin/sh -c true" ]
  [ "$a3" = exec_die ]
  [ "$c3" = 0 ]
  [ "$n1" = hcev ]
  [ ${#x1} -eq 64 ] && [ "$x1" = "$x2" ] && [ "$x1" = "$x3" ]
  [ "${lines[5]%%|*}" = "health_status: healthy" ]
}

@test "events: network create, connect, disconnect, destroy (API and container start/exit)" {
  t0=$(date +%s)
  nid=$(docker network create evnet)
  cid=$(docker create --name netev busybox true)
  docker start -a netev
  docker network connect evnet netev
  docker network disconnect evnet netev
  docker network rm evnet >/dev/null
  run ev "$t0" --filter type=network --format '{{.Action}} {{.Actor.ID}} {{.Actor.Attributes.name}} {{.Actor.Attributes.type}} {{.Actor.Attributes.container}}'
  echo "$output"
  br=$(docker network inspect -f '{{.Id}}' bridge)
  [ "${lines[0]}" = "create $nid evnet bridge <no value>" ]
  [ "${lines[1]}" = "connect $br bridge bridge $cid" ]
  [ "${lines[2]}" = "disconnect $br bridge bridge $cid" ]
  [ "${lines[3]}" = "connect $nid evnet bridge $cid" ]
  [ "${lines[4]}" = "disconnect $nid evnet bridge $cid" ]
  [ "${lines[5]}" = "destroy $nid evnet bridge <no value>" ]
  [ "${#lines[@]}" -eq 6 ]
  # --filter network=NAME selects them too.
  run ev "$t0" --filter network=evnet --format '{{.Action}}'
  [ "$output" = "create
connect
disconnect
destroy" ]
  docker rm netev >/dev/null
}

@test "events: volume create, mount, unmount, destroy" {
  t0=$(date +%s)
  docker volume create evvol >/dev/null
  cid=$(docker run -d -v evvol:/data busybox true)
  docker wait "$cid" >/dev/null
  docker rm "$cid" >/dev/null
  docker volume rm evvol >/dev/null
  run ev "$t0" --filter type=volume --format '{{.Action}} {{.Actor.ID}} {{.Actor.Attributes.driver}} {{.Actor.Attributes.container}}|{{index .Actor.Attributes "destination"}}|{{index .Actor.Attributes "read/write"}}'
  echo "$output"
  [ "${lines[0]}" = "create evvol local <no value>||" ]
  [ "${lines[1]}" = "mount evvol local $cid|/data|true" ]
  [ "${lines[2]}" = "unmount evvol local $cid||" ]
  [ "${lines[3]}" = "destroy evvol local <no value>||" ]
  [ "${#lines[@]}" -eq 4 ]
  run ev "$t0" --filter volume=evvol --filter event=mount --format '{{.Action}}'
  [ "$output" = mount ]
}

@test "events: volumes a container create makes (anonymous, new named) and rm -v's destroy, in dockerd's order" {
  t0=$(date +%s)
  docker volume create evold >/dev/null
  cid=$(docker create -v /anon -v evnew:/n -v evold:/o busybox true)
  anon=$(docker inspect -f '{{range .Mounts}}{{if eq .Destination "/anon"}}{{.Name}}{{end}}{{end}}' "$cid")
  [ -n "$anon" ]
  docker rm -v "$cid" >/dev/null
  run ev "$t0" --format '{{.Type}} {{.Action}} {{.Actor.ID}}'
  echo "$output"
  # evold existed already: only its own create; the container's create
  # comes after the volumes it made; rm -v destroys the anonymous one
  # (not the named ones) before the container's destroy
  [ "${lines[0]}" = "volume create evold" ]
  [[ ${lines[1]} == "volume create "* && ${lines[2]} == "volume create "* ]]
  [[ " ${lines[1]#volume create } ${lines[2]#volume create } " == *" $anon "* ]]
  [[ " ${lines[1]#volume create } ${lines[2]#volume create } " == *" evnew "* ]]
  [ "${lines[3]}" = "container create $cid" ]
  [ "${lines[4]}" = "volume destroy $anon" ]
  [ "${lines[5]}" = "container destroy $cid" ]
  [ "${#lines[@]}" -eq 6 ]
  docker volume rm evnew evold >/dev/null
}

@test "events: image events carry the image's labels (not delete); container events the merged labels" {
  t0=$(date +%s.%N)
  iid=$(docker import -c 'LABEL team=blue tier=base' "$(busybox_tar)" evlab:1)
  docker tag evlab:1 evlab:2
  cid=$(docker create -l tier=app evlab:1 true)
  docker rm "$cid" >/dev/null
  docker rmi evlab:1 evlab:2 >/dev/null
  run ev "$t0" --format '{{.Type}} {{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.team}} {{.Actor.Attributes.tier}}'
  echo "$output"
  # dockerd 20.10 tags an import silently: import's event only
  [ "${lines[0]}" = "image import $iid blue base" ]
  [ "${lines[1]}" = "image tag evlab:2 blue base" ]
  [[ ${lines[2]} == "container create "*" blue app" ]]
  [[ ${lines[3]} == "container destroy "*" blue app" ]]
  [ "${lines[4]}" = "image untag $iid blue base" ]
  [ "${lines[5]}" = "image untag $iid blue base" ]
  [ "${lines[6]}" = "image delete $iid <no value> <no value>" ]
  [ "${#lines[@]}" -eq 7 ]
}

@test "events: image tag, untag, delete, save, load, import, commit" {
  t0=$(date +%s)
  bid=$(docker image inspect -f '{{.Id}}' busybox)
  docker tag busybox evimg:t1
  docker rmi evimg:t1 >/dev/null
  docker save busybox -o "$BATS_TEST_TMPDIR/bb.tar"
  docker load -i "$BATS_TEST_TMPDIR/bb.tar" >/dev/null
  iid=$(docker import "$(busybox_tar)" evimp:1)
  cid=$(docker create busybox true)
  comid=$(docker commit "$cid" evcom:1)
  docker rm "$cid" >/dev/null
  docker rmi evcom:1 >/dev/null
  run ev "$t0" --filter type=image --format '{{.Action}} {{.Actor.ID}} {{.Actor.Attributes.name}}'
  echo "$output"
  [ "${lines[0]}" = "tag $bid evimg:t1" ]
  [ "${lines[1]}" = "untag $bid $bid" ]
  [ "${lines[2]}" = "save $bid $bid" ]
  [ "${lines[3]}" = "load $bid $bid" ]
  [ "${lines[4]}" = "import $iid $iid" ]
  [ "${lines[5]}" = "tag $comid evcom:1" ]
  [ "${lines[6]}" = "untag $comid $comid" ]
  [ "${lines[7]}" = "delete $comid $comid" ]
  [ "${#lines[@]}" -eq 8 ]
  run ev "$t0" --filter event=commit --format '{{.Type}} {{.Actor.ID}} {{.Actor.Attributes.imageID}} {{.Actor.Attributes.imageRef}} {{.Actor.Attributes.image}}'
  [ "$output" = "container $cid $comid evcom:1 busybox" ]
  docker rmi evimp:1 >/dev/null
}
