#!/usr/bin/env bats
# Ports published on the IPv6 loopback ([::1]) through berth-proxy: the
# kernel cannot DNAT from ::1 (no route_localnet for IPv6), so berthd runs a
# userland proxy per port, as dockerd's docker-proxy, to the container's
# IPv4 address. It outlives a berthd crash (live restore) and goes with the
# container.

bats_require_minimum_version 1.5.0
load ../helpers/berth

setup_file() {
  start_berthd
  import_busybox
}

teardown_file() {
  stop_berthd
}

httpd_cmd='mkdir -p /w && echo hello-proxy > /w/index.html && exec httpd -f -p 80 -h /w'

# pids of this build's berth-proxy processes serving host port $1 (one
# pgrep, not a read per process: the machine may run thousands)
proxy_pids() {
  pgrep -f -- "^$BERTH_BIN/berth-proxy .*-host-port $1 " | tr '\n' ' ' | sed 's/ $//'
}

# a free TCP port on [::1]
free_port6() {
  python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1",0)); print(s.getsockname()[1])'
}

wait_http() {  # URL: until it answers (bounded)
  local i
  for ((i = 0; i < 100; i++)); do curl -fsS -g -m 2 "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}

@test "-p [::1]:PORT:80 answers from the host through berth-proxy; rm stops the proxy and frees the port" {
  port=$(free_port6)
  docker run -d --name p6 -p "[::1]:$port:80" busybox sh -c "$httpd_cmd" >/dev/null
  run -0 docker port p6 80
  [ "$output" = "[::1]:$port" ]
  wait_http "http://[::1]:$port/"
  run -0 curl -fsS -g -m 5 "http://[::1]:$port/"
  [ "$output" = hello-proxy ]
  # One proxy process, in its own session (not berthd's child), to the
  # container's IPv4 address; no DNAT rule for it.
  pids=$(proxy_pids "$port")
  [ -n "$pids" ] && [ "$(wc -w <<<"$pids")" -eq 1 ]
  ip4=$(docker inspect -f '{{.NetworkSettings.IPAddress}}' p6)
  run -0 cat "/proc/$pids/cmdline"
  [[ $(tr '\0' ' ' <"/proc/$pids/cmdline") == *"-proto tcp -host-ip ::1 -host-port $port -container-ip $ip4 -container-port 80 "* ]]
  [ "$(ps -o ppid= -p "$pids" | tr -d ' ')" != "$(berthd_pid)" ]
  run -0 nft list table ip "$BERTHD_NFT_TABLE"
  [[ $output != *"dport $port "* ]]
  # Taken while published.
  run docker run --rm -p "[::1]:$port:80" busybox true
  [ "$status" -ne 0 ]
  [[ $output == *"Bind for [::1]:$port failed: port is already allocated"* ]]
  # Large transfers go through intact (the proxy splices both ways).
  docker exec p6 sh -c 'head -c 3000000 /dev/urandom > /w/big'
  want=$(docker exec p6 md5sum /w/big | cut -d' ' -f1)
  run -0 sh -c "curl -fsS -g -m 20 'http://[::1]:$port/big' | md5sum | cut -d' ' -f1"
  [ "$output" = "$want" ]
  docker rm -f p6 >/dev/null
  [ -z "$(proxy_pids "$port")" ]
  run curl -fsS -g -m 2 "http://[::1]:$port/"
  [ "$status" -ne 0 ]
  # The port is free again.
  python3 -c 'import socket,sys; s=socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("::1",int(sys.argv[1]))); s.listen()' "$port"
}

@test "-p [::1]::80 takes an ephemeral port; stop ends the proxy, start brings it back" {
  docker run -d --name p6e -p "[::1]::80" busybox sh -c "$httpd_cmd" >/dev/null
  run -0 docker port p6e 80/tcp
  [[ $output =~ ^\[::1\]:([0-9]+)$ ]]
  port=${BASH_REMATCH[1]}
  wait_http "http://[::1]:$port/"
  run -0 curl -fsS -g -m 5 "http://[::1]:$port/"
  [ "$output" = hello-proxy ]
  docker stop -t 1 p6e >/dev/null
  [ -z "$(proxy_pids "$port")" ]
  docker start p6e >/dev/null
  run -0 docker port p6e 80/tcp
  [[ $output =~ ^\[::1\]:([0-9]+)$ ]]
  port=${BASH_REMATCH[1]}
  wait_http "http://[::1]:$port/"
  [ -n "$(proxy_pids "$port")" ]
  docker rm -f p6e >/dev/null
  [ -z "$(proxy_pids "$port")" ]
}

@test "-p [::1]:PORT:PORT/udp relays datagrams both ways" {
  port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.bind(("::1",0)); print(s.getsockname()[1])')
  # A UDP echo service in the container (busybox has no UDP listener: a
  # static one built here and mounted in).
  cat >"$BATS_TEST_TMPDIR/echo.c" <<'C'
#include <netinet/in.h>
#include <sys/socket.h>
int main(void) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons(5353);
  if (bind(s, (struct sockaddr*)&a, sizeof a)) return 1;
  for (;;) {
    char b[512];
    struct sockaddr_in f;
    socklen_t l = sizeof f;
    long n = recvfrom(s, b, sizeof b, 0, (struct sockaddr*)&f, &l);
    if (n > 0) sendto(s, b, n, 0, (struct sockaddr*)&f, l);
  }
}
C
  cc -static -O1 -o "$BATS_TEST_TMPDIR/udp-echo" "$BATS_TEST_TMPDIR/echo.c"
  docker run -d --name u6 -v "$BATS_TEST_TMPDIR/udp-echo:/udp-echo:ro" -p "[::1]:$port:5353/udp" busybox /udp-echo >/dev/null
  [ -n "$(proxy_pids "$port")" ]
  run -0 python3 - "$port" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.settimeout(0.5)
for i in range(40):  # the echo service may still be starting
    s.sendto(b"ping-udp\n", ("::1", int(sys.argv[1])))
    try:
        print(s.recvfrom(100)[0].decode().strip())
        break
    except socket.timeout:
        continue
PY
  [ "$output" = ping-udp ]
  docker rm -f u6 >/dev/null
  [ -z "$(proxy_pids "$port")" ]
}

@test "the [::1] proxy keeps answering while berthd is down and is adopted after the restart" {
  port=$(free_port6)
  docker run -d --name p6r -p "[::1]:$port:80" busybox sh -c "$httpd_cmd" >/dev/null
  wait_http "http://[::1]:$port/"
  pid=$(proxy_pids "$port")
  [ -n "$pid" ]
  kill9_berthd
  run -0 curl -fsS -g -m 5 "http://[::1]:$port/"
  [ "$output" = hello-proxy ]
  restart_berthd
  [ "$(proxy_pids "$port")" = "$pid" ]
  run -0 curl -fsS -g -m 5 "http://[::1]:$port/"
  [ "$output" = hello-proxy ]
  # A proxy that died while berthd was away is started again.
  kill9_berthd
  kill "$pid"
  for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  restart_berthd
  new=$(proxy_pids "$port")
  [ -n "$new" ] && [ "$new" != "$pid" ]
  wait_http "http://[::1]:$port/"
  # And the container's removal stops it.
  docker rm -f p6r >/dev/null
  [ -z "$(proxy_pids "$port")" ]
}

@test "-p PORT:80 on an IPv4-only network publishes 0.0.0.0 and [::] (berth-proxy to the IPv4 address), as dockerd" {
  port=$(free_port6)
  docker run -d --name p46 -p "$port:80" busybox sh -c "$httpd_cmd" >/dev/null
  id=$(docker inspect -f '{{.Id}}' p46)
  run -0 docker port p46 80
  [ "$output" = "0.0.0.0:$port
[::]:$port" ]
  run -0 docker ps --filter name=p46 --format '{{.Ports}}'
  [ "$output" = "0.0.0.0:$port->80/tcp, [::]:$port->80/tcp" ]
  run -0 "$BERTH_BIN/berth" ps --filter name=p46 --format '{{.Ports}}'
  [ "$output" = "0.0.0.0:$port->80/tcp, [::]:$port->80/tcp" ]
  wait_http "http://[::1]:$port/"
  run -0 curl -fsS -g -m 5 "http://[::1]:$port/"
  [ "$output" = hello-proxy ]
  run -0 curl -fsS -m 5 "http://127.0.0.1:$port/"
  [ "$output" = hello-proxy ]
  # One proxy, for [::] only (IPv4 is DNAT), naming its container.
  pids=$(proxy_pids "$port")
  [ -n "$pids" ] && [ "$(wc -w <<<"$pids")" -eq 1 ]
  ip4=$(docker inspect -f '{{.NetworkSettings.IPAddress}}' p46)
  [[ $(tr '\0' ' ' <"/proc/$pids/cmdline") == *"-host-ip :: -host-port $port -container-ip $ip4 -container-port 80 -listen-fd 3 -container-id $id -detach "* ]]
  # The [::] side is held too: another container cannot take it.
  run docker run --rm -p "[::]:$port:80" busybox true
  [ "$status" -ne 0 ]
  [[ $output == *"Bind for [::]:$port failed: port is already allocated"* ]]
  docker rm -f p46 >/dev/null
  [ -z "$(proxy_pids "$port")" ]
}

@test "-p [::]:PORT:80 on an IPv4-only network answers through berth-proxy instead of being refused" {
  port=$(free_port6)
  docker run -d --name p6any -p "[::]:$port:80" busybox sh -c "$httpd_cmd" >/dev/null
  run -0 docker port p6any 80
  [ "$output" = "[::]:$port" ]
  wait_http "http://[::1]:$port/"
  run -0 curl -fsS -g -m 5 "http://[::1]:$port/"
  [ "$output" = hello-proxy ]
  # Only [::] was asked for: IPv4 does not answer.
  run curl -fsS -m 2 "http://127.0.0.1:$port/"
  [ "$status" -ne 0 ]
  docker rm -f p6any >/dev/null
  [ -z "$(proxy_pids "$port")" ]
}

@test "a killed berthd's proxies are ended by the test helper's cleanup (kill_container_proxies)" {
  port=$(free_port6)
  docker run -d --name p6k -p "[::1]:$port:80" busybox sleep 300 >/dev/null
  id=$(docker inspect -f '{{.Id}}' p6k)
  [ -n "$(proxy_pids "$port")" ]
  kill_container_proxies "$id"
  for i in $(seq 50); do [ -z "$(proxy_pids "$port")" ] && break; sleep 0.1; done
  [ -z "$(proxy_pids "$port")" ]
  docker rm -f p6k >/dev/null
}

@test "--userland-proxy=false: IPv6 host addresses of an IPv4-only container are refused, -p publishes 0.0.0.0 only (last: restarts berthd)" {
  pid=$(berthd_pid)
  kill "$pid"
  for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  restart_berthd --userland-proxy=false
  before=$(docker ps -aq | wc -l)
  run docker run --rm -p '[::]:8080:80' busybox true
  [ "$status" -eq 125 ]
  [[ $output == *"cannot publish ports on IPv6 addresses (::): the container has no IPv6 address (its network has no IPv6 subnet) and berthd runs with --userland-proxy=false"* ]]
  run docker run --rm -p '[::1]:8080:80' busybox true
  [ "$status" -eq 125 ]
  [[ $output == *"cannot publish ports on IPv6 addresses (::1)"* ]]
  [ "$(docker ps -aq | wc -l)" -eq "$before" ]
  docker run -d --name p4only -p 80 busybox sleep 60 >/dev/null
  run -0 docker port p4only 80
  [[ $output =~ ^0\.0\.0\.0:([0-9]+)$ ]]
  [ -z "$(proxy_pids "${BASH_REMATCH[1]}")" ]
  docker rm -f p4only >/dev/null
}
