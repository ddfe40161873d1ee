#!/usr/bin/env bats
# Network log drivers through the real docker CLI: syslog over tcp+tls
# (CA verification, client certificates, skip-verify, RFC 5425 framing)
# against a local python TLS listener with certificates made here, and the
# gelf driver's TCP reconnect against a listener that drops its first
# connection.

bats_require_minimum_version 1.5.0
load ../helpers/berth

setup_file() {
  start_berthd
  import_busybox busybox:latest
  # A CA, a server certificate for 127.0.0.1 and a client certificate.
  export PKI="$BATS_FILE_TMPDIR/pki"
  mkdir -p "$PKI"
  (
    cd "$PKI"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=logs-test-ca 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1\n' >san.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 \
      -extfile san.ext 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=client 2>/dev/null
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2 2>/dev/null
    # another CA, that signed nothing here
    openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.pem -days 2 -subj /CN=other 2>/dev/null
  )
  [ -s "$PKI/server.pem" ] && [ -s "$PKI/client.pem" ]
}

teardown_file() {
  stop_berthd
}

teardown() {
  [ -n "${LISTENER:-}" ] && kill "$LISTENER" 2>/dev/null || true
  LISTENER=
}

# tls_listen PORTFILE OUTFILE [CLIENT_CA]: a TLS server on 127.0.0.1 that
# appends everything received on each connection to OUTFILE (a failed
# handshake appends "HANDSHAKE-FAIL\n"); with CLIENT_CA it requires a client
# certificate signed by it.
tls_listen() {
  python3 -u - "$1" "$2" "$PKI/server.pem" "$PKI/server.key" "${3:-}" <<'PY' &
import socket, ssl, sys
portfile, outfile, cert, key, client_ca = sys.argv[1:6]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
if client_ca:
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(client_ca)
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
open(portfile + ".tmp", "w").write(str(s.getsockname()[1]))
import os; os.rename(portfile + ".tmp", portfile)
s.settimeout(60)
out = open(outfile, "ab")
while True:
    try:
        c, _ = s.accept()
    except Exception:
        break
    c.settimeout(30)
    try:
        t = ctx.wrap_socket(c, server_side=True)
    except Exception:
        out.write(b"HANDSHAKE-FAIL\n"); out.flush(); c.close(); continue
    try:
        while True:
            d = t.recv(65536)
            if not d:
                break
            out.write(d); out.flush()
    except Exception:
        pass
    t.close()
PY
  LISTENER=$!
  for i in $(seq 100); do [ -s "$1" ] && break; sleep 0.05; done
  [ -s "$1" ]
}

# wait_grep PATTERN FILE: bounded wait until FILE has PATTERN.
wait_grep() {
  for i in $(seq 600); do grep -q -- "$1" "$2" 2>/dev/null && return 0; sleep 0.05; done
  return 1
}

@test "logs-net: syslog over tcp+tls verifies the server with syslog-tls-ca-cert and frames rfc5424 by length" {
  tls_listen "$BATS_TEST_TMPDIR/port" "$BATS_TEST_TMPDIR/msgs"
  port=$(cat "$BATS_TEST_TMPDIR/port")
  docker run --name st --log-driver syslog --log-opt syslog-address=tcp+tls://127.0.0.1:$port \
    --log-opt syslog-tls-ca-cert="$PKI/ca.pem" --log-opt syslog-format=rfc5424 --log-opt tag=tlstag \
    busybox sh -c 'echo one; echo two >&2'
  wait_grep ' - two' "$BATS_TEST_TMPDIR/msgs"
  # RFC 5425: "<octets> <message>" with the octet count of the message (its '\n' included)
  run python3 -c '
import sys
b = open(sys.argv[1], "rb").read(); i = 0
while i < len(b):
    sp = b.index(b" ", i); n = int(b[i:sp]); m = b[sp+1:sp+1+n]
    assert m.endswith(b"\n") and len(m) == n
    print(m.decode().rstrip("\n")); i = sp + 1 + n' "$BATS_TEST_TMPDIR/msgs"
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 2 ]
  re1='^<30>1 [0-9T:-]+Z [^ ]+ tlstag [0-9]+ tlstag - one$'
  re2='^<27>1 [0-9T:-]+Z [^ ]+ tlstag [0-9]+ tlstag - two$'
  [[ ${lines[0]} =~ $re1 ]]
  [[ ${lines[1]} =~ $re2 ]]
}

@test "logs-net: syslog tcp+tls presents syslog-tls-cert/key to a server that requires a client certificate" {
  tls_listen "$BATS_TEST_TMPDIR/port" "$BATS_TEST_TMPDIR/msgs" "$PKI/ca.pem"
  port=$(cat "$BATS_TEST_TMPDIR/port")
  docker run --name stc --log-driver syslog --log-opt syslog-address=tcp+tls://127.0.0.1:$port \
    --log-opt syslog-tls-ca-cert="$PKI/ca.pem" --log-opt syslog-tls-cert="$PKI/client.pem" \
    --log-opt syslog-tls-key="$PKI/client.key" --log-opt tag=mtls busybox echo mutual
  wait_grep 'mutual' "$BATS_TEST_TMPDIR/msgs"
  run cat "$BATS_TEST_TMPDIR/msgs"
  # Docker's default format on a network transport: "<pri>Stamp tag[pid]: msg", newline-framed
  re='^<30>[A-Z][a-z]{2} [ 0-9]{2} [0-9:]{8} mtls\[[0-9]+\]: mutual$'
  [[ $output =~ $re ]]
  # without the client certificate the server refuses the handshake (with TLS
  # 1.3 the client learns it only after its handshake, as Go's client does)
  run docker run --name stc2 --log-driver syslog --log-opt syslog-address=tcp+tls://127.0.0.1:$port \
    --log-opt syslog-tls-ca-cert="$PKI/ca.pem" busybox echo nocert
  wait_grep HANDSHAKE-FAIL "$BATS_TEST_TMPDIR/msgs"
  ! grep -q nocert "$BATS_TEST_TMPDIR/msgs" || false
}

@test "logs-net: syslog tcp+tls refuses a server its CA did not sign, unless syslog-tls-skip-verify" {
  tls_listen "$BATS_TEST_TMPDIR/port" "$BATS_TEST_TMPDIR/msgs"
  port=$(cat "$BATS_TEST_TMPDIR/port")
  run -125 docker run --name sv1 --log-driver syslog --log-opt syslog-address=tcp+tls://127.0.0.1:$port \
    --log-opt syslog-tls-ca-cert="$PKI/other.pem" busybox echo unverified
  [[ $output == *"failed to initialize logging driver"*"certificate"* ]]
  run docker inspect -f '{{.State.Running}}' sv1
  [ "$output" = false ]
  docker run --name sv2 --log-driver syslog --log-opt syslog-address=tcp+tls://127.0.0.1:$port \
    --log-opt syslog-tls-ca-cert="$PKI/other.pem" --log-opt syslog-tls-skip-verify=true busybox echo skipped
  wait_grep 'skipped' "$BATS_TEST_TMPDIR/msgs"
  ! grep -q unverified "$BATS_TEST_TMPDIR/msgs" || false
}

# tcp_drop_first PORTFILE OUTFILE: a TCP server on 127.0.0.1 that closes its
# first connection at once and records what later connections send to
# OUTFILE, one line "conn N" per accepted connection before its bytes.
tcp_drop_first() {
  python3 -u - "$1" "$2" <<'PY' &
import os, socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.settimeout(60)
out = open(sys.argv[2], "ab")
n = 0
while True:
    try:
        c, _ = s.accept()
    except Exception:
        break
    n += 1
    out.write(b"conn %d\n" % n); out.flush()
    if n == 1:
        c.close()
        continue
    c.settimeout(30)
    try:
        while True:
            d = c.recv(65536)
            if not d:
                break
            out.write(d); out.flush()
    except Exception:
        pass
    c.close()
PY
  LISTENER=$!
  for i in $(seq 100); do [ -s "$1" ] && break; sleep 0.05; done
  [ -s "$1" ]
}

@test "logs-net: gelf over TCP reconnects (gelf-tcp-max-reconnect/-reconnect-delay) and no message is lost" {
  tcp_drop_first "$BATS_TEST_TMPDIR/port" "$BATS_TEST_TMPDIR/msgs"
  port=$(cat "$BATS_TEST_TMPDIR/port")
  docker run --name gr --log-driver gelf --log-opt gelf-address=tcp://127.0.0.1:$port \
    --log-opt gelf-tcp-max-reconnect=2 --log-opt gelf-tcp-reconnect-delay=1 \
    busybox sh -c 'sleep 1; echo m1; sleep 0.3; echo m2; echo m3 >&2'
  wait_grep '"short_message":"m3"' "$BATS_TEST_TMPDIR/msgs"
  run python3 -c '
import json, sys
b = open(sys.argv[1], "rb").read()
head, _, rest = b.partition(b"conn 2\n")
print(head.decode().strip())
for m in rest.split(b"\0"):
    if m.strip():
        j = json.loads(m); print(j["short_message"], j["level"], j["_container_name"])' "$BATS_TEST_TMPDIR/msgs"
  [ "$status" -eq 0 ]
  [ "$output" = $'conn 1\nm1 6 /gr\nm2 6 /gr\nm3 3 /gr' ]
}

@test "logs-net: gelf TCP reconnect options are validated as dockerd does" {
  run -125 docker run --name gv1 --log-driver gelf --log-opt gelf-address=udp://127.0.0.1:1 \
    --log-opt gelf-tcp-max-reconnect=2 busybox true
  [[ $output == *'Error response from daemon: "gelf-tcp-max-reconnect" is only valid for TCP'* ]]
  run -125 docker run --name gv2 --log-driver gelf --log-opt gelf-address=tcp://127.0.0.1:1 \
    --log-opt gelf-tcp-max-reconnect=-1 busybox true
  [[ $output == *'Error response from daemon: "gelf-tcp-max-reconnect" must be a positive integer'* ]]
  run -125 docker run --name gv3 --log-driver gelf --log-opt gelf-address=tcp://127.0.0.1:1 \
    --log-opt gelf-tcp-reconnect-delay=x busybox true
  [[ $output == *'Error response from daemon: "gelf-tcp-reconnect-delay" must be a positive integer'* ]]
  run docker ps -a --format '{{.Names}}'
  [[ $output != *gv1* && $output != *gv2* && $output != *gv3* ]]
}
