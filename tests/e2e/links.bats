#!/usr/bin/env bats
# End-to-end (docker CLI 28): legacy links (`--link name[:alias]`), as the
# course notes use them (`--link <registry_container_name>`). Expected values
# are what dockerd 20.10 gave for the same commands.

bats_require_minimum_version 1.5.0
load ../helpers/berth

setup_file() {
  start_berthd
  import_busybox
}

teardown_file() {
  stop_berthd
}

@test "--link on the default bridge: /etc/hosts line and the alias's environment" {
  docker run -d --name db -e FOO=bar -e HOME=/h --expose 5432 --expose 53/udp busybox sleep 300
  ip=$(docker inspect -f '{{.NetworkSettings.Networks.bridge.IPAddress}}' db)
  host=$(docker inspect -f '{{.Config.Hostname}}' db)
  [ -n "$ip" ]
  run docker run --rm --name web --link db:webdb busybox sh -c 'env | grep ^WEBDB_ | sort; grep webdb /etc/hosts'
  [ "$status" -eq 0 ]
  expected="WEBDB_ENV_FOO=bar
WEBDB_NAME=/web/webdb
WEBDB_PORT=udp://$ip:53
WEBDB_PORT_53_UDP=udp://$ip:53
WEBDB_PORT_53_UDP_ADDR=$ip
WEBDB_PORT_53_UDP_PORT=53
WEBDB_PORT_53_UDP_PROTO=udp
WEBDB_PORT_5432_TCP=tcp://$ip:5432
WEBDB_PORT_5432_TCP_ADDR=$ip
WEBDB_PORT_5432_TCP_PORT=5432
WEBDB_PORT_5432_TCP_PROTO=tcp
$ip	webdb $host db"
  [ "$output" = "$expected" ]
  # The alias answers: the linked container is reachable under that name.
  run docker run --rm --link db:webdb busybox ping -c1 -W2 webdb
  [ "$status" -eq 0 ]
  # Without an alias the name is the alias.
  run docker run --rm --name w1 --link db busybox sh -c 'echo $DB_NAME; awk '"'"'$2=="db"'"'"' /etc/hosts'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = /w1/db ]
  [ "${lines[1]}" = "$ip	db $host" ]
}

@test "--link is stored canonically and listed under the parent's name" {
  docker create --name w2 --link db:webdb busybox true
  run docker inspect -f '{{json .HostConfig.Links}}' w2
  [ "$output" = '["/db:/w2/webdb"]' ]
  run curl -sf --unix-socket "$BERTHD_SOCK" 'http://d/containers/json?filters=%7B%22name%22%3A%5B%22%5Edb%24%22%5D%7D'
  [[ $output == *'"Names":["/db","/w2/webdb"]'* ]]
  # docker rm --link drops the link, not a container.
  docker rm --link /w2/webdb
  run docker inspect -f '{{json .HostConfig.Links}}' w2
  [ "$output" = 'null' ]
  docker inspect db >/dev/null
  # The link route must not swallow other paths: inspecting an image whose
  # name has a '/' still falls back from containers (404) to images.
  docker tag busybox seed/linked:v1
  [ "$(docker inspect -f '{{.Id}}' seed/linked:v1)" = "$(docker inspect -f '{{.Id}}' busybox)" ]
  docker rmi seed/linked:v1
  docker rm w2
}

@test "--link errors as dockerd: unknown container, stopped container, bad format" {
  run docker run --rm --link nosuch:x busybox true
  [ "$status" -eq 125 ]
  [[ $output == *"could not get container for nosuch: No such container: nosuch"* ]]
  run docker run --rm --link :x busybox true
  [ "$status" -eq 125 ]
  docker run -d --name stopped busybox true
  docker wait stopped
  docker create --name w3 --link stopped:s busybox true
  run docker start w3
  [ "$status" -ne 0 ]
  [[ $output == *"Cannot link to a non running container: /stopped AS /w3/s"* ]]
  docker rm w3 stopped
}

@test "--link on a user-defined network resolves the alias, without the environment" {
  docker network create linknet
  docker run -d --name u1 --network linknet -e X=1 --expose 80 busybox sleep 300
  run docker run --rm --network linknet --link u1:al busybox sh -c 'env | grep -c ^AL_; ping -c1 -W2 al >/dev/null && echo reached'
  [ "${lines[0]}" = 0 ]
  [ "${lines[1]}" = reached ]
  docker rm -f u1
  docker network rm linknet
}
