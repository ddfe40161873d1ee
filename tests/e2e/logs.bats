#!/usr/bin/env bats
# Log drivers through the real docker CLI: json-file rotation and attrs,
# none/syslog/gelf (not readable), journald's error, option validation,
# non-blocking mode, daemon-wide defaults, and `logs` options.

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

# udp_listen PORTFILE OUTFILE: a one-shot UDP receiver on 127.0.0.1 (ephemeral port).
udp_listen() {
  python3 -u - "$1" "$2" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
s.settimeout(10)
out = open(sys.argv[2], "wb")
try:
    while True:
        d = s.recv(65536)
        out.write(len(d).to_bytes(4, "big") + d); out.flush()
except Exception:
    pass
PY
  LISTENER=$!
  for i in $(seq 50); do [ -s "$1" ] && break; sleep 0.05; done
}

@test "logs: json-file max-size/max-file rotate, and logs reads across the rotated files" {
  docker run --name rot --log-opt max-size=1k --log-opt max-file=3 busybox \
    sh -c 'i=0; while [ $i -lt 300 ]; do echo line-$i; i=$((i+1)); done'
  d=$(cdir rot)
  id=$(docker inspect -f '{{.Id}}' rot)
  [ -f "$d/$id-json.log.1" ] && [ -f "$d/$id-json.log.2" ]
  [ ! -e "$d/$id-json.log.3" ]
  for f in "$d/$id-json.log"*; do [ "$(stat -c %s "$f")" -le 1200 ]; done
  run docker logs rot
  [ "${lines[-1]}" = line-299 ]
  first=${lines[0]#line-}
  [ "$first" -gt 0 ]
  # every line from the first kept one to the last, no gap
  [ "${#lines[@]}" -eq $((300 - first)) ]
  run docker logs --tail 20 rot   # more than the current file holds
  [ "${#lines[@]}" -eq 20 ]
  [ "${lines[0]}" = line-280 ]
  run docker inspect -f '{{json .HostConfig.LogConfig}}' rot
  [ "$output" = '{"Type":"json-file","Config":{"max-file":"3","max-size":"1k"}}' ]
}

@test "logs: json-file labels/env/tag options add Docker's attrs to each line" {
  docker run --name attrs -l team=blue -e FOO=bar --log-opt labels=team --log-opt env=FOO \
    --log-opt 'tag={{.Name}}/{{.ImageName}}' busybox echo hi
  run cat "$(cdir attrs)/$(docker inspect -f '{{.Id}}' attrs)-json.log"
  [[ $output == '{"log":"hi\n","stream":"stdout","attrs":{"FOO":"bar","tag":"attrs/busybox","team":"blue"},"time":"'* ]]
  run docker logs attrs
  [ "$output" = hi ]
  # --details: the attrs sorted, query-escaped, before the line (dockerd's bytes)
  docker run --name det -l foo='b ar' -l a=z/1 -e E=v,w --log-opt labels=foo,a --log-opt env=E busybox echo hello
  run docker logs --details det
  [ "$output" = 'E=v%2Cw,a=z%2F1,foo=b+ar hello' ]
  run docker logs --details -t det
  [[ $output == 20*Z' E=v%2Cw,a=z%2F1,foo=b+ar hello' ]]
  # no attrs: a lone space, as dockerd
  docker run --name det2 busybox echo plain
  [ "$(docker logs --details det2 | od -An -c | tr -s ' ')" = ' p l a i n \n' ]
}

@test "logs: none cannot be read back (Docker's error); journald says the host has none" {
  docker run --name nolog --log-driver none busybox echo x
  run docker logs nolog
  [ "$status" -ne 0 ]
  [[ $output == *"configured logging driver does not support reading"* ]]
  [ -z "$(ls "$(cdir nolog)" | grep json.log || true)" ]
  run -125 docker run --name jd --log-driver journald busybox echo x
  [[ $output == *"failed to initialize logging driver: journald is not enabled on this host"* ]]
}

@test "logs: bad drivers and options fail before anything is created" {
  run -125 docker run --name b1 --log-driver bogus busybox true
  [[ $output == *"logger: no log driver named 'bogus' is registered"* ]]
  run -125 docker run --name b2 --log-opt max-sise=1 busybox true
  [[ $output == *"unknown log opt 'max-sise' for json-file log driver"* ]]
  run -125 docker run --name b3 --log-opt max-size=10x busybox true
  [[ $output == *"invalid size: '10x'"* ]]
  run -125 docker run --name b4 --log-opt max-buffer-size=1m busybox true
  [[ $output == *"max-buffer-size option is only supported with 'mode=non-blocking'"* ]]
  run -125 docker run --name b5 --log-driver gelf busybox true
  [[ $output == *"gelf-address is a required parameter"* ]]
  run docker ps -a --format '{{.Names}}'
  [[ $output != *b1* && $output != *b2* && $output != *b3* && $output != *b4* && $output != *b5* ]]
}

@test "logs: syslog over UDP sends one RFC 5424 message per line with the tag" {
  udp_listen "$BATS_TEST_TMPDIR/port" "$BATS_TEST_TMPDIR/msgs"
  port=$(cat "$BATS_TEST_TMPDIR/port")
  docker run --name sl --log-driver syslog --log-opt syslog-address=udp://127.0.0.1:$port \
    --log-opt syslog-format=rfc5424 --log-opt tag=mytag busybox sh -c 'echo one; echo two >&2'
  sleep 0.5
  kill "$LISTENER" 2>/dev/null || true
  run python3 -c '
import sys
b = open(sys.argv[1], "rb").read(); i = 0
while i < len(b):
    n = int.from_bytes(b[i:i+4], "big"); print(b[i+4:i+4+n].decode().rstrip("\n")); i += 4 + n' "$BATS_TEST_TMPDIR/msgs"
  re1='^<30>1 [0-9T:-]+Z [^ ]+ mytag [0-9]+ mytag - one$'
  re2='^<27>1 .* - two$'
  [[ ${lines[0]} =~ $re1 ]]
  [[ ${lines[1]} =~ $re2 ]]
  [ "${#lines[@]}" -eq 2 ]
}

@test "logs: gelf over UDP sends gzip'd GELF 1.1 with Docker's fields" {
  udp_listen "$BATS_TEST_TMPDIR/port" "$BATS_TEST_TMPDIR/msgs"
  port=$(cat "$BATS_TEST_TMPDIR/port")
  docker run --name gl --log-driver gelf --log-opt gelf-address=udp://127.0.0.1:$port busybox echo hello-gelf
  sleep 0.5
  kill "$LISTENER" 2>/dev/null || true
  id=$(docker inspect -f '{{.Id}}' gl)
  run python3 -c '
import sys, zlib, json
b = open(sys.argv[1], "rb").read(); n = int.from_bytes(b[0:4], "big")
m = json.loads(zlib.decompress(b[4:4+n], 47))
print(m["version"], m["short_message"], m["level"], m["_container_name"], m["_container_id"], m["_tag"], m["_image_name"])' "$BATS_TEST_TMPDIR/msgs"
  [ "$output" = "1.1 hello-gelf 6 /gl $id ${id:0:12} busybox" ]
}

@test "logs: syslog and gelf by host name: berthd resolves it, the shim dials the address" {
  udp_listen "$BATS_TEST_TMPDIR/port" "$BATS_TEST_TMPDIR/msgs"
  port=$(cat "$BATS_TEST_TMPDIR/port")
  docker run --name sn --log-driver syslog --log-opt syslog-address=udp://localhost:$port \
    --log-opt syslog-format=rfc5424 --log-opt tag=named busybox echo by-name
  docker run --name gn --log-driver gelf --log-opt gelf-address=udp://localhost:$port \
    --log-opt gelf-compression-type=none busybox echo gelf-by-name
  sleep 0.5
  kill "$LISTENER" 2>/dev/null || true
  run python3 -c '
import sys
b = open(sys.argv[1], "rb").read(); i = 0
while i < len(b):
    n = int.from_bytes(b[i:i+4], "big"); print(b[i+4:i+4+n].decode(errors="replace").rstrip("\n")); i += 4 + n' "$BATS_TEST_TMPDIR/msgs"
  [[ ${lines[0]} == *" named - by-name" ]]
  [[ ${lines[1]} == *'"short_message":"gelf-by-name"'* ]]
  id=$(docker inspect -f '{{.Id}}' gn)
  grep -q '"dial_addrs":\["127.0.0.1:'"$port"'"\]' "$BERTHD_DIR"/*/containers/$id/log-config.json
}

@test "logs: a log address whose name does not resolve fails the start with dockerd's words" {
  run -125 docker run --name gx --log-driver gelf --log-opt gelf-address=udp://no-such-host.invalid:12201 busybox true
  [[ $output == *"failed to initialize logging driver: gelf: cannot connect to GELF endpoint: no-such-host.invalid:12201 dial udp: lookup no-such-host.invalid"*"no such host"* ]]
  run -125 docker run --name sx --log-driver syslog --log-opt syslog-address=tcp://no-such-host.invalid:514 busybox true
  [[ $output == *"failed to initialize logging driver: dial tcp: lookup no-such-host.invalid"*"no such host"* ]]
}

@test "logs: mode=non-blocking keeps every line when the driver keeps up" {
  docker run --name nb --log-opt mode=non-blocking --log-opt max-buffer-size=4m busybox \
    sh -c 'i=0; while [ $i -lt 2000 ]; do echo n-$i; i=$((i+1)); done'
  run docker logs nb
  [ "${#lines[@]}" -eq 2000 ]
  [ "${lines[1999]}" = n-1999 ]
}

@test "logs: -t --tail --since --until --details and -f until exit" {
  docker run -d --name lf busybox sh -c 'echo a; sleep 1.2; echo b; sleep 1.2; echo c'
  sleep 0.5
  mid=$(date +%s.%N)
  run docker logs -f lf
  [ "$output" = $'a\nb\nc' ]
  run docker logs --since "$mid" lf
  [ "$output" = $'b\nc' ]
  run docker logs --until "$mid" lf
  [ "$output" = a ]
  run docker logs -t --tail 1 lf
  re='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{9}Z c$'
  [[ $output =~ $re ]]
  run docker logs --details lf
  [ "$status" -eq 0 ]
}

@test "logs: daemon.json log-driver and log-opts are the defaults for new containers" {
  echo '{"log-driver":"json-file","log-opts":{"max-size":"2k","max-file":"2","labels":"team"}}' >"$BERTHD_DIR/daemon.json"
  kill -TERM "$(berthd_pid)"
  for i in $(seq 100); do kill -0 "$(berthd_pid)" 2>/dev/null || break; sleep 0.05; done
  restart_berthd
  docker run --name dflt -l team=red busybox echo hi
  run docker inspect -f '{{json .HostConfig.LogConfig}}' dflt
  [ "$output" = '{"Type":"json-file","Config":{"labels":"team","max-file":"2","max-size":"2k"}}' ]
  run cat "$(cdir dflt)/$(docker inspect -f '{{.Id}}' dflt)-json.log"
  [[ $output == *'"attrs":{"team":"red"}'* ]]
  # a container's own options win over the daemon's
  docker run --name own --log-opt max-size=5k busybox true
  run docker inspect -f '{{index .HostConfig.LogConfig.Config "max-size"}}' own
  [ "$output" = 5k ]
  # another driver takes none of the daemon's options
  docker run --name other --log-driver none busybox true
  run docker inspect -f '{{json .HostConfig.LogConfig}}' other
  [ "$output" = '{"Type":"none","Config":{}}' ]
}

# pipe_size PID FD: F_GETPIPE_SZ of a process's fd (reopened through /proc);
# "none" when it is not a pipe.
pipe_size() {
  python3 - "$1" "$2" <<'PY'
import fcntl, os, stat, sys
p = "/proc/%s/fd/%s" % (sys.argv[1], sys.argv[2])
if not stat.S_ISFIFO(os.stat(p).st_mode):
    print("none"); sys.exit(0)
fd = os.open(p, os.O_WRONLY | os.O_NONBLOCK)
print(fcntl.fcntl(fd, 1032))  # F_GETPIPE_SZ
PY
}

@test "logs: the shim leaves a container's stdout and stderr pipes at the kernel default; a tty stays a pty" {
  # Pipe capacity is charged to the owner's per-user budget
  # (fs.pipe-user-pages-soft): grown 1 MiB pipes would, past ~32 containers,
  # shrink every pipe made inside any container to 8 KiB.
  docker run -d --name pz busybox sleep 30
  pid=$(docker inspect -f '{{.State.Pid}}' pz)
  [ "$(pipe_size "$pid" 1)" = 65536 ]
  [ "$(pipe_size "$pid" 2)" = 65536 ]
  docker run -d -t --name pt busybox sleep 30
  pid=$(docker inspect -f '{{.State.Pid}}' pt)
  [ "$(pipe_size "$pid" 1)" = none ]
  docker rm -f pz pt
}

@test "logs: a multi-MiB burst on stdout and stderr at once keeps every line, in order per stream" {
  # Both pipes stay full (the shim drains up to 16 reads per wake, alternating
  # streams), and lines cross every 64 KiB read boundary.
  pad=$(printf 'p%.0s' $(seq 60))
  # Written to files first, then both cat at once: cat writes 64 KiB+ at
  # a time, so the pipes fill faster than the shim drains them.
  # (Its own max-size: an earlier test left daemon-wide 2k x 2 defaults.)
  docker run --name burst --log-opt max-size=64m --log-opt max-file=1 busybox sh -c "
    i=0; while [ \$i -lt 40000 ]; do echo out-\$i-$pad; i=\$((i+1)); done >/tmp/o
    sed 's/^out/err/' /tmp/o >/tmp/e
    cat /tmp/o & cat /tmp/e >&2; wait" >/dev/null 2>&1
  docker logs burst 2>/dev/null >"$BATS_TEST_TMPDIR/out"
  docker logs burst 2>"$BATS_TEST_TMPDIR/err" >/dev/null
  seq 0 39999 | sed "s/.*/out-&-$pad/" | cmp - "$BATS_TEST_TMPDIR/out"
  seq 0 39999 | sed "s/.*/err-&-$pad/" | cmp - "$BATS_TEST_TMPDIR/err"
  # Every json-file line is whole and its stream field matches its text.
  log=$(docker inspect -f '{{.LogPath}}' burst)
  [ "$(grep -c '^{"log":"out-[0-9]*-p*\\n","stream":"stdout","time":"[0-9T:.-]*Z"}$' "$log")" -eq 40000 ]
  [ "$(grep -c '^{"log":"err-[0-9]*-p*\\n","stream":"stderr","time":"[0-9T:.-]*Z"}$' "$log")" -eq 40000 ]
  [ "$(wc -l <"$log")" -eq 80000 ]
  docker rm burst
}
