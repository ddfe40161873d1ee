#!/usr/bin/env bats
# Leaving the "none" network, as dockerd 20.10 allows: `network disconnect
# none C` keeps the loopback-only namespace and NetworkMode "none", lists no
# networks, and lets other networks be connected afterwards, live or while
# stopped. Messages and status codes as observed on a private dockerd.

bats_require_minimum_version 1.5.0
load ../helpers/berth

setup_file() {
  start_berthd
  import_busybox
}

teardown_file() {
  stop_berthd
}

api_post() {  # PATH JSON → "BODY CODE" on one line
  local out
  out=$(curl -s -w ' %{http_code}' --unix-socket "$BERTHD_SOCK" -X POST -H 'Content-Type: application/json' \
    -d "$2" "http://d/v1.41$1")
  echo "${out//$'\n'/}"
}

@test "disconnect none on a running container, then connect bridge live and disconnect it again" {
  docker run -d --name n1 --network none busybox sleep 300 >/dev/null
  run -0 docker network disconnect none n1
  run -0 docker inspect -f '{{.HostConfig.NetworkMode}} {{json .NetworkSettings.Networks}}' n1
  [ "$output" = "none {}" ]
  # Not connected any more: dockerd answers 500 with this message.
  id=$(docker inspect -f '{{.Id}}' n1)
  run -0 api_post /networks/none/disconnect '{"Container":"n1"}'
  [ "$output" = "{\"message\":\"container $id is not connected to network none\"} 500" ]
  run -0 docker exec n1 ip -o link
  [ "$(wc -l <<<"$output")" -eq 1 ]
  [[ $output == *"lo:"* ]]
  # Now a bridge network can be connected: eth0 appears live.
  run -0 docker network connect bridge n1
  run -0 docker inspect -f '{{.HostConfig.NetworkMode}} {{.NetworkSettings.Networks.bridge.IPAddress}}' n1
  [[ $output =~ ^none\ ([0-9.]+)$ ]]
  ip=${BASH_REMATCH[1]}
  run -0 docker exec n1 ip -o -4 addr show eth0
  [[ $output == *"inet $ip/"* ]]
  gw=$(docker inspect -f '{{.NetworkSettings.Networks.bridge.Gateway}}' n1)
  run -0 docker exec n1 ping -c 1 -W 3 "$gw"
  run -0 docker network disconnect bridge n1
  run -0 docker inspect -f '{{json .NetworkSettings.Networks}}' n1
  [ "$output" = "{}" ]
  run -0 docker exec n1 ip -o link
  [[ $output != *"eth0"* ]]
  docker rm -f n1 >/dev/null
}

@test "a container on none cannot join another network before leaving none; host cannot be left" {
  docker run -d --name n2 --network none busybox sleep 300 >/dev/null
  run -0 api_post /networks/bridge/connect '{"Container":"n2"}'
  [ "$output" = '{"message":"container cannot be connected to multiple networks with one of the networks in private (none) mode"} 400' ]
  run -0 docker inspect -f '{{json .NetworkSettings.Networks}}' n2
  [[ $output == '{"none":'* ]]
  # Leave and come back.
  run -0 docker network disconnect none n2
  run -0 docker network connect none n2
  run -0 docker inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' n2
  [ "$output" = "none " ]
  docker run -d --name h1 --network host busybox sleep 300 >/dev/null
  run -0 api_post /networks/host/disconnect '{"Container":"h1"}'
  [ "$output" = '{"message":"container cannot be disconnected from host network or connected to host network"} 400' ]
  docker rm -f n2 h1 >/dev/null
}

@test "disconnect none while stopped: starts with loopback only; a network connected while stopped is there at start" {
  docker create --name n3 --network none busybox sleep 300 >/dev/null
  run -0 docker network disconnect none n3
  docker start n3 >/dev/null
  run -0 docker exec n3 ip -o link
  [ "$(wc -l <<<"$output")" -eq 1 ]
  docker stop -t 0 n3 >/dev/null
  run -0 docker network connect bridge n3
  run -0 docker inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' n3
  [ "$output" = "bridge " ]
  docker start n3 >/dev/null
  run -0 docker exec n3 ip -o -4 addr show eth0
  [[ $output == *"inet "* ]]
  run -0 docker inspect -f '{{.HostConfig.NetworkMode}} {{if .NetworkSettings.Networks.bridge.IPAddress}}ip{{end}}' n3
  [ "$output" = "none ip" ]
  docker rm -f n3 >/dev/null
}
