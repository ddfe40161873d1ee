#!/usr/bin/env bats
# End-to-end: the requests the berth CLI sends, as the daemon sees them.
# The CLI does not ping before its first request (HEAD /_ping is a round
# trip per command; DESIGN.md §6, ps <= 5 ms): it sends at API 1.41 and
# negotiates only when a daemon refuses that version as too new.

bats_require_minimum_version 1.5.0
load ../../helpers/berth

setup_file() {
  start_berthd --log-level debug
  import_busybox busybox:latest
}

teardown_file() {
  [[ -z ${FAKE_PID:-} ]] || kill "$FAKE_PID" 2>/dev/null || true
  stop_berthd
}

setup() {
  T=$(mktemp -d /tmp/berth-req.XXXXXX)
}

teardown() {
  [[ -z ${FAKE_PID:-} ]] || { kill "$FAKE_PID" 2>/dev/null || true; wait "$FAKE_PID" 2>/dev/null || true; }
  rm -rf "$T"
}

berth() { "$BERTH_BIN/berth" "$@"; }

# requests_since LINE: "METHOD TARGET" of each request berthd logged after
# line LINE of its log.
requests_since() {
  tail -n +"$(($1 + 1))" "$BERTHD_DIR/berthd.log" |
    sed -n 's/.*msg="request" method="\([A-Z]*\)" target="\([^"]*\)".*/\1 \2/p'
}
log_lines() { wc -l <"$BERTHD_DIR/berthd.log"; }

@test "berth ps sends one request: no ping first" {
  n=$(log_lines)
  run -0 berth ps
  [[ ${lines[0]} == "CONTAINER ID"* ]]
  run -0 requests_since "$n"
  [ "$output" = "GET /v1.41/containers/json" ]
}

@test "berth run --rm: create, then attach and wait, then start; no ping" {
  n=$(log_lines)
  run -0 berth run --rm busybox echo hello
  [ "$output" = hello ]
  run -0 requests_since "$n"
  [[ ${lines[0]} == "POST /v1.41/containers/create" ]]
  [[ ${lines[3]} == "POST /v1.41/containers/"*"/start" ]]
  printf '%s\n' "${lines[1]}" "${lines[2]}" | sort >"$T/mid"
  grep -q '^POST /v1.41/containers/[0-9a-f]*/attach?stream=1&stdout=1&stderr=1$' "$T/mid"
  grep -q '^POST /v1.41/containers/[0-9a-f]*/wait?condition=removed$' "$T/mid"
  [ "${#lines[@]}" -eq 4 ]
  [[ $output != *_ping* ]]
}

# A daemon at API 1.40 refuses /v1.41 with dockerd's 400 (before any
# handler runs); the CLI then pings and sends the request again at 1.40.
@test "berth negotiates down when a daemon refuses 1.41 as too new" {
  cat >"$T/fake.py" <<'PY'
import json, os, socket, sys
sock, log = sys.argv[1], open(sys.argv[2], "a", buffering=1)
s = socket.socket(socket.AF_UNIX)
s.bind(sock)
s.listen(8)
def answer(c, status, body=b"", headers=""):
    c.sendall(("HTTP/1.1 %s\r\nAPI-Version: 1.40\r\nOSType: linux\r\n%sContent-Length: %d\r\n\r\n"
               % (status, headers, len(body))).encode() + body)
while True:
    c, _ = s.accept()
    buf = b""
    while True:
        while b"\r\n\r\n" not in buf:
            d = c.recv(65536)
            if not d:
                break
            buf += d
        if b"\r\n\r\n" not in buf:
            break
        head, buf = buf.split(b"\r\n\r\n", 1)
        method, target = head.decode().split(" ")[:2]
        log.write("%s %s\n" % (method, target))
        if target == "/_ping":
            answer(c, "200 OK", b"" if method == "HEAD" else b"OK")
        elif target.startswith("/v1.41/"):
            answer(c, "400 Bad Request",
                   b'{"message":"client version 1.41 is too new. Maximum supported API version is 1.40"}\n',
                   "Content-Type: application/json\r\n")
        else:
            answer(c, "200 OK", b"[]", "Content-Type: application/json\r\n")
    c.close()
PY
  python3 "$T/fake.py" "$T/fake.sock" "$T/requests" &
  FAKE_PID=$!
  for ((i = 0; i < 100; i++)); do [[ -S $T/fake.sock ]] && break; sleep 0.05; done
  run -0 berth -H "unix://$T/fake.sock" ps -a
  [ "$output" = "CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES" ]
  run -0 cat "$T/requests"
  [ "${lines[0]}" = "GET /v1.41/containers/json?all=1" ]
  [ "${lines[1]}" = "HEAD /_ping" ]
  [ "${lines[2]}" = "GET /v1.40/containers/json?all=1" ]
  [ "${#lines[@]}" -eq 3 ]
}

# hg_mappings PID: how many of PID's mappings are madvise(MADV_HUGEPAGE)d.
hg_mappings() { grep -c '^VmFlags:.* hg' "/proc/$1/smaps" || true; }

@test "the berth CLI allocates from huge-page-advised memory (src/hugeheap)" {
  [[ -r /sys/kernel/mm/transparent_hugepage/enabled ]] || skip "kernel without transparent huge pages"
  id=$(berth run -d --network none busybox sleep 100)
  "$BERTH_BIN/berth" wait "$id" >/dev/null &
  local wpid=$! k
  for ((k = 0; k < 100; k++)); do
    [[ $(readlink "/proc/$wpid/exe" 2>/dev/null) == */berth ]] && break
    sleep 0.05
  done
  sleep 0.2  # past start-up: it has allocated and sent its request
  n=$(hg_mappings "$wpid")
  kill "$wpid"
  wait "$wpid" || true
  berth rm -f "$id" >/dev/null
  [ "$n" -ge 1 ]
}
