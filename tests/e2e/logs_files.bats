#!/usr/bin/env bats
# File log drivers through the real docker CLI: json-file compress=true
# (rotated files gzipped as <id>-json.log.N.gz) and the local driver's own
# format (length-framed protobuf in local-logs/container.log), both read back
# by `docker logs` with --tail, --since and -f across rotations.

bats_require_minimum_version 1.5.0
load ../helpers/berth

setup_file() {
  start_berthd
  import_busybox busybox:latest
}

teardown_file() {
  stop_berthd
}

cdir() { echo "$BERTHD_DIR/data/containers/$(docker inspect -f '{{.Id}}' "$1")"; }

# wait_file PATH: bounded wait for a file to appear (compression is asynchronous).
wait_file() {
  for i in $(seq 200); do [ -e "$1" ] && return 0; sleep 0.05; done
  return 1
}

# contiguous PREFIX: the lines of $output are PREFIX-n, PREFIX-(n+1), … with no gap.
contiguous() {
  local prev=-1 l n
  for l in "${lines[@]}"; do
    n=${l#"$1"-}
    if [ "$prev" -ge 0 ] && [ "$n" -ne $((prev + 1)) ]; then
      echo "gap after $1-$prev: $l"
      return 1
    fi
    prev=$n
  done
}

# local_records FILE: "source|line|partial" per record of a local-driver file,
# checking that every record's leading and trailing lengths agree.
local_records() {
  python3 - "$1" <<'PY'
import sys
b = open(sys.argv[1], "rb").read()
def varint(m, i):
    r = s = 0
    while True:
        c = m[i]; i += 1
        r |= (c & 0x7f) << s; s += 7
        if not c & 0x80: return r, i
i = 0
while i < len(b):
    n = int.from_bytes(b[i:i+4], "big")
    assert int.from_bytes(b[i+4+n:i+8+n], "big") == n, "trailer mismatch"
    m = b[i+4:i+4+n]; i += 8 + n
    f = {}
    j = 0
    while j < len(m):
        k, j = varint(m, j)
        if k & 7 == 2:
            l, j = varint(m, j); f[k >> 3] = m[j:j+l]; j += l
        else:
            f[k >> 3], j = varint(m, j)
    assert f.get(2, 0) > 1500000000 * 10**9, "time_nano"
    print("%s|%s|%d" % (f[1].decode(), f.get(3, b"").decode(), f.get(4, 0)))
PY
}

@test "logs-files: json-file compress=true gzips rotated files as <id>-json.log.N.gz and logs reads them" {
  docker run --name cz --log-opt max-size=1k --log-opt max-file=4 --log-opt compress=true busybox \
    sh -c 'i=0; while [ $i -lt 400 ]; do echo line-$i; i=$((i+1)); done'
  d=$(cdir cz)
  id=$(docker inspect -f '{{.Id}}' cz)
  for n in 1 2 3; do wait_file "$d/$id-json.log.$n.gz"; done
  [ ! -e "$d/$id-json.log.4.gz" ]
  [ ! -e "$d/$id-json.log.1" ]
  gzip -t "$d/$id-json.log.1.gz"
  run sh -c "gzip -dc '$d/$id-json.log.3.gz' | head -1"
  [[ $output == '{"log":"line-'*'\n","stream":"stdout","time":"'* ]]
  run docker logs cz
  [ "${lines[-1]}" = line-399 ]
  first=${lines[0]#line-}
  [ "$first" -gt 0 ]
  [ "${#lines[@]}" -eq $((400 - first)) ]
  contiguous line
  # the current file holds fewer than 20 lines: --tail reaches into the .gz files
  [ "$(wc -l <"$d/$id-json.log")" -lt 20 ]
  run docker logs --tail 20 cz
  [ "${#lines[@]}" -eq 20 ]
  [ "${lines[0]}" = line-380 ]
  run docker logs --since 2000-01-01T00:00:00Z cz
  [ "${#lines[@]}" -eq $((400 - first)) ]
  run docker logs --until 2000-01-01T00:00:00Z cz
  [ -z "$output" ]
}

@test "logs-files: compress=true needs max-size and max-file >= 2 (Docker's message)" {
  run -125 docker run --name cz2 --log-opt compress=true --log-opt max-size=1k busybox true
  [[ $output == *"Error response from daemon: failed to initialize logging driver: compress cannot be true when max-file is less than 2 or max-size is not set"* ]]
  run -125 docker run --name cz3 --log-opt compress=yes busybox true
  [[ $output == *'strconv.ParseBool: parsing "yes": invalid syntax'* ]]
}

@test "logs-files: logs -f follows a json-file log across compressed rotations" {
  # (~50 lines a file at 10 lines per 0.3 s: the follower keeps up here;
  # the next test makes it fall several rotations behind)
  docker run -d --name czf --log-opt max-size=4k --log-opt max-file=3 --log-opt compress=true busybox \
    sh -c 'sleep 1; i=0; while [ $i -lt 300 ]; do echo f-$i; i=$((i+1)); [ $((i % 10)) = 0 ] && sleep 0.3; done'
  run timeout 60 docker logs -f czf
  [ "$status" -eq 0 ]
  [ "${lines[-1]}" = f-299 ]
  contiguous f
  [ "${lines[0]}" = f-0 ]
  d=$(cdir czf)
  wait_file "$d/$(docker inspect -f '{{.Id}}' czf)-json.log.2.gz"
}

@test "logs-files: logs -f several rotations behind still delivers every line on disk (json-file, local)" {
  # A burst of 120 lines lands in one batch and is cut into ~4 files of
  # 2 KiB within a millisecond: the follower wakes several rotations behind
  # its file; max-file=5 keeps all of them, so every line must arrive, in order.
  for drv in json-file local; do
    docker run -d --name "fr-$drv" --log-driver "$drv" --log-opt max-size=2k --log-opt max-file=5 busybox \
      sh -c 'sleep 1; i=0; while [ $i -lt 120 ]; do echo f-$i; i=$((i+1)); done; sleep 1'
    run timeout 60 docker logs -f "fr-$drv"
    # (shown only if an assertion below fails: which driver, what arrived, what is on disk)
    echo "driver $drv: status $status, ${#lines[@]} lines, first ${lines[0]:-}, last ${lines[-1]:-}"
    ls -l "$(cdir "fr-$drv")" "$(cdir "fr-$drv")/local-logs" 2>/dev/null || true
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 120 ]
    [ "${lines[0]}" = f-0 ]
    [ "${lines[-1]}" = f-119 ]
    contiguous f
  done
}

@test "logs-files: the local driver writes Docker's framed protobuf records, not json lines" {
  docker run --name loc --log-driver local busybox sh -c 'echo one; echo two >&2; printf tail'
  d=$(cdir loc)
  f="$d/local-logs/container.log"
  [ -f "$f" ]
  [ -z "$(ls "$d" | grep json.log || true)" ]
  run local_records "$f"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = 'stdout|one|0' ]
  [ "${lines[1]}" = 'stderr|two|0' ]
  [ "${lines[2]}" = 'stdout|tail|0' ]
  run docker logs loc
  [ "$output" = $'one\ntwo\ntail' ]
  run docker logs --tail 2 loc
  [ "$output" = $'two\ntail' ]
  run --separate-stderr docker logs loc
  [ "$output" = $'one\ntail' ]
  [ "$stderr" = two ]
  # Docker keeps the local driver's file out of the API
  run docker inspect -f '{{.LogPath}}|{{json .HostConfig.LogConfig}}' loc
  [ "$output" = '|{"Type":"local","Config":{}}' ]
  # attach with logs=1 (docker-py's attach(logs=True)) replays the local file
  run bash -c "curl -sS --max-time 5 --unix-socket ${DOCKER_HOST#unix://} -X POST 'http://x/v1.41/containers/loc/attach?logs=1&stdout=1&stderr=0' | tail -c +9 | tr -d '\001\000\004\005\003'"
  [[ $output == *one* && $output == *tail* && $output != *two* ]]
}

@test "logs-files: local driver lines over 16 KiB are partial records that read back whole" {
  docker run --name locbig --log-driver local busybox sh -c 'head -c 40000 /dev/zero | tr "\0" x; echo; echo after'
  run local_records "$(cdir locbig)/local-logs/container.log"
  [ "${#lines[@]}" -eq 4 ]
  [[ ${lines[0]} == *'|1' && ${lines[2]} == *'|1' && ${lines[3]} == 'stdout|after|0' ]]
  run docker logs locbig
  [ "${#lines[@]}" -eq 2 ]
  [ "${#lines[0]}" -eq 40000 ]
  [ "${lines[1]}" = after ]
}

@test "logs-files: local driver rotates (compressed by default) and logs --tail/--since/-f read every file" {
  docker run -d --name locr --log-driver local --log-opt max-size=2k --log-opt max-file=3 busybox \
    sh -c 'sleep 1; i=0; while [ $i -lt 300 ]; do echo l-$i; i=$((i+1)); [ $((i % 10)) = 0 ] && sleep 0.3; done'
  run timeout 60 docker logs -f locr
  [ "$status" -eq 0 ]
  [ "${lines[-1]}" = l-299 ]
  [ "${lines[0]}" = l-0 ]
  contiguous l
  docker wait locr
  f="$(cdir locr)/local-logs/container.log"
  wait_file "$f.1.gz"
  wait_file "$f.2.gz"
  [ ! -e "$f.3.gz" ]
  gzip -t "$f.2.gz"
  run docker logs locr
  first=${lines[0]#l-}
  [ "$first" -gt 0 ]
  [ "${lines[-1]}" = l-299 ]
  contiguous l
  n=${#lines[@]}
  run docker logs --tail $((n - 1)) locr
  [ "${#lines[@]}" -eq $((n - 1)) ]
  [ "${lines[0]}" = "l-$((first + 1))" ]
  run docker logs --since 2000-01-01T00:00:00Z locr
  [ "${#lines[@]}" -eq "$n" ]
  # compress=false keeps plain rotated files
  docker run --name locp --log-driver local --log-opt max-size=1k --log-opt max-file=2 --log-opt compress=false \
    busybox sh -c 'i=0; while [ $i -lt 100 ]; do echo p-$i; i=$((i+1)); done'
  f="$(cdir locp)/local-logs/container.log"
  [ -f "$f.1" ] && [ ! -e "$f.1.gz" ] && [ ! -e "$f.2" ]
  run local_records "$f.1"
  [ "$status" -eq 0 ]
  run docker logs locp
  [ "${lines[-1]}" = p-99 ]
  contiguous p
}

@test "logs-files: bad local driver options fail before anything is created" {
  run -125 docker run --name lb1 --log-driver local --log-opt labels=x busybox true
  [[ $output == *"Error response from daemon: unknown log opt 'labels' for log driver local"* ]]
  run -125 docker run --name lb2 --log-driver local --log-opt max-size=1q busybox true
  [[ $output == *"Error response from daemon: failed to initialize logging driver: invalid value for max-size: 1q: invalid size: '1q'"* ]]
  run docker ps -a --format '{{.Names}}'
  [[ $output != *lb1* && $output != *lb2* ]]
}
