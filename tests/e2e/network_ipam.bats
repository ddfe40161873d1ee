#!/usr/bin/env bats
# IPAM through the real docker CLI: --aux-address reservations and
# `network connect --ip` static addresses on running containers.

bats_require_minimum_version 1.5.0
load ../helpers/berth

setup_file() {
  start_berthd
  import_busybox
}

teardown_file() {
  docker rm -f $(docker ps -aq) >/dev/null 2>&1 || true
  stop_berthd
}

@test "--aux-address: a reserved address is never handed out, and cannot be asked for" {
  # /29: .0 network, .1 gateway, .2 and .3 aux, .4-.6 for containers, .7 broadcast.
  run -0 docker network create --subnet 10.199.9.0/29 --aux-address r1=10.199.9.2 --aux-address r2=10.199.9.3 auxnet
  run -0 docker network inspect auxnet --format '{{json (index .IPAM.Config 0).AuxiliaryAddresses}}'
  [ "$output" = '{"r1":"10.199.9.2","r2":"10.199.9.3"}' ]
  for i in 1 2 3; do docker run -d --name aux$i --network auxnet busybox sleep 60 >/dev/null; done
  run -0 docker inspect aux1 aux2 aux3 --format '{{.NetworkSettings.Networks.auxnet.IPAddress}}'
  [ "$output" = $'10.199.9.4\n10.199.9.5\n10.199.9.6' ]
  # The pool is exhausted: aux addresses are not the fallback.
  run docker run -d --name aux4 --network auxnet busybox sleep 60
  [ "$status" -ne 0 ]
  [[ $output == *"no available IPv4 addresses"* ]]
  docker rm -f aux4 >/dev/null 2>&1 || true
  docker rm -f aux3 >/dev/null
  run docker run --rm --network auxnet --ip 10.199.9.2 busybox true
  [ "$status" -ne 0 ]
  [[ $output == *"Address already in use"* ]]
  # The freed address is handed out again.
  run -0 docker run --rm --network auxnet busybox ip -4 -o addr show eth0
  [[ $output == *"inet 10.199.9.6/29"* ]]
  run docker network create --subnet 10.199.10.0/24 --aux-address r1=10.200.0.5 auxbad
  [ "$status" -ne 0 ]
  [[ $output == *"no matching subnet for aux-address 10.200.0.5"* ]]
  docker rm -f aux1 aux2 >/dev/null
  docker network rm auxnet >/dev/null
}

@test "network connect --ip: the running container gets that address; a taken one fails with Docker's message" {
  docker network create --subnet 10.199.8.0/24 connnet >/dev/null
  docker run -d --name cip1 busybox sleep 60 >/dev/null
  docker run -d --name cip2 busybox sleep 60 >/dev/null
  run -0 docker network connect --ip 10.199.8.50 connnet cip1
  run -0 docker exec cip1 ip -4 -o addr show eth1
  [[ $output == *"inet 10.199.8.50/24"* ]]
  run -0 docker inspect cip1 --format '{{.NetworkSettings.Networks.connnet.IPAddress}} {{.NetworkSettings.Networks.connnet.IPAMConfig.IPv4Address}}'
  [ "$output" = "10.199.8.50 10.199.8.50" ]
  # Reachable at that address from another container of the network.
  run -0 docker run --rm --network connnet busybox ping -c1 -W2 10.199.8.50
  run docker network connect --ip 10.199.8.50 connnet cip2
  [ "$status" -ne 0 ]
  [[ $output == *"Address already in use"* ]]
  # Nothing half-made: cip2 still has only eth0, and is not listed on the network.
  run -0 docker exec cip2 ls /sys/class/net
  [ "$output" = $'eth0\nlo' ]
  run -0 docker network inspect connnet --format '{{len .Containers}}'
  [ "$output" = 1 ]
  run docker network connect --ip 10.5.5.5 connnet cip2
  [ "$status" -ne 0 ]
  run docker network connect --ip 10.199.8.1 connnet cip2
  [[ $output == *"Address already in use"* ]]
  # The predefined bridge takes no static address.
  run docker network connect --ip 10.199.8.60 bridge cip2
  [ "$status" -ne 0 ]
  # Released on disconnect: cip2 may take it now.
  run -0 docker network disconnect connnet cip1
  run -0 docker network connect --ip 10.199.8.50 connnet cip2
  run -0 docker exec cip2 ip -4 -o addr show eth1
  [[ $output == *"inet 10.199.8.50/24"* ]]
  docker rm -f cip1 cip2 >/dev/null
  docker network rm connnet >/dev/null
}
