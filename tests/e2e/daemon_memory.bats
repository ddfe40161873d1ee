#!/usr/bin/env bats
# berthd's idle memory (DESIGN.md §6: daemon idle RSS <= 8 MiB, dockerd
# 150 MiB): a real daemon, restarted over a few containers' worth of state
# (running, created and exited containers, a user network, a volume), is
# measured once start-up has settled. Also: the libraries berthd loads only
# on demand (libcurl with its TLS stack, libnftables) are not mapped while
# it idles, and the features behind them still work.

bats_require_minimum_version 1.5.0
load ../helpers/berth

setup_file() {
  start_berthd --live-restore
  import_busybox busybox:latest
}

teardown_file() {
  stop_berthd
}

teardown() {
  stop_registry
}

# An ASan/UBSan build (scripts/build.sh BERTH_SANITIZE=1) links differently
# and carries the sanitizers' shadow memory: the budget is for release builds.
skip_if_sanitized() {
  if ldd "$BERTH_BIN/berthd" | grep -q libasan; then skip "sanitizer build"; fi
}

# vm_kib PID FIELD: a /proc/PID/status field in KiB.
vm_kib() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status"; }

# min_rss_kib PID: the smallest VmRSS of five reads 0.3 s apart (a read
# racing a housekeeping allocation must not fail the budget).
min_rss_kib() {
  local i v min=
  for ((i = 0; i < 5; i++)); do
    v=$(vm_kib "$1" VmRSS)
    [[ -z $min || $v -lt $min ]] && min=$v
    sleep 0.3
  done
  echo "$min"
}

# restart_idle: SIGTERM the daemon (live-restore keeps containers running),
# start it again on the same state and wait until its start-up is over.
restart_idle() {
  local pid
  pid=$(berthd_pid)
  kill "$pid"
  for ((i = 0; i < 200; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  proc_gone "$pid"
  restart_berthd --live-restore
  grep -q 'berthd started' "$BERTHD_DIR/berthd.log"
  sleep 1   # let the threads started at start-up park
}

@test "daemon memory: idle berthd with containers' state stays within 8 MiB RSS" {
  skip_if_sanitized
  docker run -d --name mem-run1 busybox sleep 600
  docker run -d --name mem-run2 -v memvol:/data busybox sleep 600
  docker network create memnet
  docker run -d --name mem-run3 --network memnet busybox sleep 600
  docker create --name mem-created busybox true
  docker run --name mem-exited busybox sh -c 'echo hello'
  restart_idle
  # Measured before any request but the readiness ping: the budget is the
  # daemon at rest after start-up (serving requests maps more of its code).
  pid=$(berthd_pid)
  rss=$(min_rss_kib "$pid")
  pss=$(awk '$1 == "Pss:" {print $2}' "/proc/$pid/smaps_rollup")
  echo "# berthd idle: VmRSS ${rss} KiB, Pss ${pss} KiB (budget 8192 KiB)" >&3
  [ "$rss" -gt 1000 ]   # a real measurement of a live daemon
  [ "$rss" -le 8192 ]
  # Still serving: the state it came back with.
  run docker ps -q
  [ "$(echo "$output" | wc -l)" -eq 3 ]
  run docker inspect -f '{{.State.Status}}' mem-run1 mem-created mem-exited
  [ "$output" = $'running\ncreated\nexited' ]
}

@test "daemon memory: libcurl and libnftables are not mapped while berthd idles" {
  skip_if_sanitized
  pid=$(berthd_pid)
  run grep -E 'libcurl|libgnutls|libnftables|libnftnl|libxml2|libicu|libnss_' "/proc/$pid/maps"
  [ "$status" -eq 1 ]
  # A network change loads libnftables again for its transaction.
  id=$(docker network create memnet2)
  run nft list table ip "$BERTHD_NFT_TABLE"
  [[ $output == *"oifname \"br-${id:0:12}\""* ]]
  docker network rm memnet2
  run nft list table ip "$BERTHD_NFT_TABLE"
  [[ $output != *"br-${id:0:12}"* ]]
  # And a published port (the table's dnat rule) works through it.
  docker run -d --name mem-web -p 127.0.0.1::8080 busybox sh -c 'echo served | nc -l -p 8080'
  port=$(docker port mem-web 8080/tcp | head -1)
  run nft list table ip "$BERTHD_NFT_TABLE"
  [[ $output == *"dport ${port##*:} dnat to"* ]]
  docker rm -f mem-web
}

@test "daemon memory: the on-demand libcurl serves a registry push and pull" {
  start_registry
  docker tag busybox:latest "$REGISTRY_ADDR/mem/busybox:1"
  run docker push "$REGISTRY_ADDR/mem/busybox:1"
  [ "$status" -eq 0 ]
  docker rmi "$REGISTRY_ADDR/mem/busybox:1"
  run docker pull "$REGISTRY_ADDR/mem/busybox:1"
  [ "$status" -eq 0 ]
  pid=$(berthd_pid)
  grep -q libcurl "/proc/$pid/maps"
  run docker run --rm "$REGISTRY_ADDR/mem/busybox:1" echo pulled
  [ "$output" = pulled ]
}

@test "daemon memory: the socket's group is read from /etc/group (no NSS modules loaded), by name or number" {
  name=$(awk -F: '$3 == 4 {print $1; exit}' /etc/group)
  [ -n "$name" ]
  start_berthd -G "$name"
  [ "$(stat -c %g "$BERTHD_SOCK")" = 4 ]
  [ "$(stat -c %a "$BERTHD_SOCK")" = 660 ]
  run grep -c 'libnss_' "/proc/$(berthd_pid)/maps"
  [ "$output" = 0 ]
  stop_one_berthd
  start_berthd -G 4242
  [ "$(stat -c %g "$BERTHD_SOCK")" = 4242 ]
  stop_one_berthd
}
