#!/usr/bin/env bats
# The embedded DNS server under load: forwarded questions to a slow
# upstream are in flight together and never hold up answers about local
# names; PTR for container addresses.

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

@test "a slow upstream (1.5 s) delays neither local answers nor other forwarded questions" {
  command -v python3 >/dev/null || skip "python3 needed for the slow DNS upstream"
  up=127.67.$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1))
  # The slow upstream: every question is answered 1.5 s later (192.0.2.55),
  # each on its own thread so several can wait at once.
  cat >"$BATS_TEST_TMPDIR/slow.py" <<'PY'
import socket, sys, threading, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
s.settimeout(30)
print("ready", flush=True)
def later(q, a):
    time.sleep(1.5)
    end = 12
    while q[end] != 0:
        end += q[end] + 1
    end += 5
    r = q[:2] + b"\x81\x80" + q[4:6] + b"\x00\x01\x00\x00\x00\x00" + q[12:end]
    r += b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + bytes([192, 0, 2, 55])
    s.sendto(r, a)
while True:
    try:
        q, a = s.recvfrom(1500)
    except socket.timeout:
        break
    threading.Thread(target=later, args=(q, a), daemon=True).start()
PY
  python3 "$BATS_TEST_TMPDIR/slow.py" "$up" >"$BATS_TEST_TMPDIR/slow.log" 2>&1 3>&- &
  pypid=$!
  for i in $(seq 100); do grep -q ready "$BATS_TEST_TMPDIR/slow.log" 2>/dev/null && break; sleep 0.05; done
  docker network create slownet >/dev/null
  docker run -d --name peer --network slownet busybox sleep 120 >/dev/null
  docker run -d --name asker --network slownet --dns "$up" busybox sleep 120 >/dev/null
  peer_ip=$(docker inspect peer --format '{{.NetworkSettings.Networks.slownet.IPAddress}}')
  pid=$(docker inspect asker --format '{{.State.Pid}}')
  # From inside the asker's namespace: two forwarded questions, then a
  # local one while both are still waiting upstream.
  run -0 nsenter --net=/proc/$pid/ns/net python3 -c '
import socket, time, select
def q(i, name):
    b = i.to_bytes(2, "big") + b"\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
    for l in name.split("."):
        b += bytes([len(l)]) + l.encode()
    return b + b"\x00\x00\x01\x00\x01"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(("127.0.0.11", 53))
t0 = time.monotonic()
s.send(q(1, "slow-one.example"))
s.send(q(2, "slow-two.example"))
time.sleep(0.2)
t1 = time.monotonic()
s.send(q(3, "peer"))
got = {}
while len(got) < 3 and time.monotonic() - t0 < 6:
    r, _, _ = select.select([s], [], [], 6)
    if not r:
        break
    m = s.recv(1500)
    i = int.from_bytes(m[:2], "big")
    got[i] = (time.monotonic() - (t1 if i == 3 else t0), ".".join(str(x) for x in m[-4:]))
for i in sorted(got):
    print(i, "%.0f" % (got[i][0] * 1000), got[i][1])'
  kill "$pypid" 2>/dev/null || true
  echo "$output"
  [ "${#lines[@]}" -eq 3 ]
  # The local answer: the peer's address, in well under 100 ms.
  read -r id ms addr <<<"${lines[2]}"
  [ "$id" = 3 ] && [ "$addr" = "$peer_ip" ]
  [ "$ms" -lt 100 ]
  # Both forwarded answers came back after ~1.5 s each, together (not 3 s).
  for l in 0 1; do
    read -r id ms addr <<<"${lines[$l]}"
    [ "$addr" = 192.0.2.55 ]
    [ "$ms" -ge 1400 ] && [ "$ms" -lt 2500 ]
  done
}

@test "PTR: a container's address resolves back to name.network; unknown addresses are forwarded" {
  peer_ip=$(docker inspect peer --format '{{.NetworkSettings.Networks.slownet.IPAddress}}')
  run -0 docker run --rm --network slownet busybox nslookup "$peer_ip" 127.0.0.11
  [[ $output == *"name = peer.slownet"* ]]
  # An address of no container on the network is not answered locally
  # (the unreachable test upstream gives no name).
  run docker run --rm --network slownet --dns 127.0.0.1 busybox nslookup 192.0.2.99 127.0.0.11
  [[ $output != *"name = "* ]]
  # name.network resolves as the name does.
  run -0 docker run --rm --network slownet busybox nslookup peer.slownet 127.0.0.11
  [[ $output == *"Address: $peer_ip"* ]]
  docker rm -f peer asker >/dev/null
  docker network rm slownet >/dev/null
}
