#!/usr/bin/env bats
# End-to-end networking through the real docker CLI and the berth CLI:
# default bridge, user-defined networks with the embedded DNS, published
# ports, host/none/container modes, connect/disconnect, macvlan, bad input.

bats_require_minimum_version 1.5.0
load ../helpers/berth

setup_file() {
  start_berthd
  import_busybox
}

teardown_file() {
  docker rm -f $(docker ps -aq) >/dev/null 2>&1 || true
  ip link del "bnm${BERTHD_BRIDGE:2}" 2>/dev/null || true
  stop_berthd
}

berth() { "$BERTH_BIN/berth" "$@"; }

# The kernel deletes a sandbox's veth pair with its namespace, shortly after.
no_bridge_ports() {
  local i
  for ((i = 0; i < 40; i++)); do
    [[ -z $(ip -o link show master "$BERTHD_BRIDGE") ]] && return 0
    sleep 0.05
  done
  ip -o link show master "$BERTHD_BRIDGE"
  return 1
}

httpd_cmd='mkdir -p /w && echo hello-berth > /w/index.html && exec httpd -f -p 80 -h /w'
http_get() {  # host port → body, from inside a busybox container on the default bridge
  docker run --rm busybox sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 3 $1 $2 | tail -n1"
}

@test "default bridge: eth0 with an address of the daemon's bridge, default route, own /etc/hosts line" {
  gw=$(docker network inspect bridge --format '{{(index .IPAM.Config 0).Gateway}}')
  subnet=$(docker network inspect bridge --format '{{(index .IPAM.Config 0).Subnet}}')
  [[ $subnet == 10.2[2-4][0-9].* ]]
  run -0 docker run --rm busybox sh -c 'ip -4 addr show eth0; ip route; tail -n1 /etc/hosts; hostname'
  [[ $output == *"inet ${gw%.*}."* ]]
  [[ $output == *"default via $gw dev eth0"* ]]
  host=${lines[-1]}
  [[ ${lines[-2]} == *"	$host" ]]
  # The bridge is the daemon's own, with the gateway address.
  run -0 ip -4 addr show "$BERTHD_BRIDGE"
  [[ $output == *"inet $gw/"* ]]
}

@test "inspect shows NetworkSettings of a running bridge container" {
  id=$(docker run -d --name ns1 busybox sleep 30)
  run -0 docker inspect ns1 --format '{{.NetworkSettings.IPAddress}} {{.NetworkSettings.Networks.bridge.IPAddress}} {{.NetworkSettings.MacAddress}} {{.NetworkSettings.Networks.bridge.NetworkID}}'
  read -r ip ip2 mac nid <<<"$output"
  [[ $ip =~ ^10\.[0-9]+\.[0-9]+\.[0-9]+$ ]]
  [ "$ip" = "$ip2" ]
  [[ $mac == 02:42:* ]]
  [ "$nid" = "$(docker network inspect bridge --format '{{.Id}}')" ]
  run -0 docker network inspect bridge --format '{{range $k, $v := .Containers}}{{$k}} {{$v.IPv4Address}}{{end}}'
  [[ $output == "$id $ip/"* ]]
  docker rm -f ns1 >/dev/null
  # Torn down: no netns file, no host veth left behind.
  [ -z "$(ls "$BERTHD_DIR/exec/netns")" ]
  no_bridge_ports
}

@test "user-defined network: containers reach each other by name and alias; default bridge does not resolve" {
  run -0 docker network create --label team=a appnet
  netid=$output
  docker run -d --name srv1 --network appnet --network-alias db busybox sleep 60 >/dev/null
  run -0 docker run --rm --network appnet busybox sh -c 'cat /etc/resolv.conf; ping -c1 -W2 srv1 && ping -c1 -W2 db && nslookup srv1 127.0.0.11'
  [[ $output == *"nameserver 127.0.0.11"* ]]
  [[ $output == *"1 packets received"* ]]
  ip=$(docker inspect srv1 --format '{{.NetworkSettings.Networks.appnet.IPAddress}}')
  [[ $output == *"Address: $ip"* ]]
  # Aliases in inspect as Docker: the given alias plus the short ID.
  run -0 docker inspect srv1 --format '{{json .NetworkSettings.Networks.appnet.Aliases}}'
  [[ $output == '["db",'* ]]
  # The default bridge has no name resolution.
  docker run -d --name plain1 busybox sleep 60 >/dev/null
  run docker run --rm busybox ping -c1 -W1 plain1
  [ "$status" -ne 0 ]
  run -0 docker network ls --filter label=team=a --format '{{.Name}}'
  [ "$output" = appnet ]
  run -0 docker network ls --filter type=custom -q
  [[ $output == "${netid:0:12}" ]]
  # Different networks are isolated from each other.
  docker network create othernet >/dev/null
  run docker run --rm --network othernet busybox ping -c1 -W1 "$ip"
  [ "$status" -ne 0 ]
  docker rm -f srv1 plain1 >/dev/null
  docker network rm othernet >/dev/null
}

@test "names are forwarded to the host's resolvers when not local" {
  # A DNS name no container has: the embedded server forwards it, and an
  # unreachable upstream answers SERVFAIL rather than NXDOMAIN-from-us.
  docker network create fwdnet >/dev/null
  run docker run --rm --network fwdnet busybox nslookup no-such-name.invalid 127.0.0.11
  [ "$status" -ne 0 ]
  [[ $output == *"127.0.0.11"* ]]
  docker network rm fwdnet >/dev/null
}

@test "network create: subnet, gateway, ip-range, static --ip; bad input fails with Docker's messages" {
  run -0 docker network create --subnet 10.199.7.0/24 --gateway 10.199.7.254 --ip-range 10.199.7.128/25 staticnet
  run -0 docker network inspect staticnet --format '{{(index .IPAM.Config 0).Subnet}} {{(index .IPAM.Config 0).Gateway}} {{(index .IPAM.Config 0).IPRange}}'
  [ "$output" = "10.199.7.0/24 10.199.7.254 10.199.7.128/25" ]
  run -0 docker run --rm --network staticnet busybox ip -4 -o addr show eth0
  [[ $output == *"inet 10.199.7.128/24"* ]]
  run -0 docker run --rm --network staticnet --ip 10.199.7.9 busybox ip -4 -o addr show eth0
  [[ $output == *"inet 10.199.7.9/24"* ]]
  run docker run --rm --network staticnet --ip 10.5.5.5 busybox true
  [ "$status" -ne 0 ]
  run docker run --rm --ip 10.1.1.1 busybox true
  [[ $output == *"user specified IP address is supported on user defined networks only"* ]]
  run docker network create --subnet 10.199.7.0/25 overlapnet
  [[ $output == *"Pool overlaps with other one on this address space"* ]]
  run docker network create --subnet banana badnet
  [[ $output == *"invalid CIDR address: banana"* ]]
  run docker network create --subnet 10.198.0.0/24 --gateway 10.197.0.1 badgw
  [[ $output == *"no matching subnet for gateway 10.197.0.1"* ]]
  run docker network create staticnet
  [[ $output == *"network with name staticnet already exists"* ]]
  run docker network create -d nosuch x1
  [[ $output == *'plugin "nosuch" not found'* ]]
  run docker run --rm --network nosuchnet busybox true
  [[ $output == *"network nosuchnet not found"* ]]
  run -0 docker network ls --format '{{.Name}}'
  [[ $output != *badnet* && $output != *overlapnet* && $output != *badgw* ]]
  docker network rm staticnet >/dev/null
}

@test "network rm refuses predefined and in-use networks; prune removes unused ones" {
  run docker network rm bridge
  [[ $output == *"bridge is a pre-defined network and cannot be removed"* ]]
  docker network create busynet >/dev/null
  docker run -d --name busy1 --network busynet busybox sleep 60 >/dev/null
  run docker network rm busynet
  [ "$status" -ne 0 ]
  [[ $output == *"has active endpoints"* ]]
  docker network create idle1 >/dev/null
  br=br-$(docker network inspect idle1 --format '{{.Id}}' | cut -c1-12)
  ip link show "$br" >/dev/null
  run -0 docker network prune -f
  [[ $output == *idle1* ]]
  [[ $output != *busynet* ]]
  run ip link show "$br"
  [ "$status" -ne 0 ]
  docker rm -f busy1 >/dev/null
  docker network rm busynet >/dev/null
}

@test "network prune honours until, label and label!" {
  docker network create --label keep=1 keptnet >/dev/null
  docker network create plainnet >/dev/null
  run -0 docker network prune -f --filter 'label!=keep=1'
  [[ $output == *plainnet* && $output != *keptnet* ]]
  docker network inspect keptnet >/dev/null
  run -0 docker network prune -f --filter label=keep=1
  [[ $output == *keptnet* ]]
  docker network create oldnet >/dev/null
  run -0 docker network prune -f --filter until=1h
  [[ $output != *oldnet* ]]
  docker network inspect oldnet >/dev/null
  sleep 1.1
  run -0 docker network prune -f --filter until=1s
  [[ $output == *oldnet* ]]
  run docker network inspect oldnet
  [ "$status" -ne 0 ]
}

@test "connect and disconnect a running container: interfaces appear and vanish live" {
  docker network create livenet >/dev/null
  docker run -d --name live1 busybox sleep 60 >/dev/null
  run -0 docker run --rm --network container:live1 busybox ls /sys/class/net
  [ "$output" = $'eth0\nlo' ]
  docker network connect --alias lv livenet live1
  run -0 docker run --rm --network container:live1 busybox ls /sys/class/net
  [ "$output" = $'eth0\neth1\nlo' ]
  run -0 docker run --rm --network livenet busybox ping -c1 -W2 lv
  run -0 docker inspect live1 --format '{{len .NetworkSettings.Networks}}'
  [ "$output" = 2 ]
  docker network disconnect livenet live1
  run -0 docker run --rm --network container:live1 busybox ls /sys/class/net
  [ "$output" = $'eth0\nlo' ]
  docker rm -f live1 >/dev/null
  docker network rm livenet >/dev/null
}

@test "published ports: -p HOST:CTR answers from the host, 127.0.0.1 and other containers; port lists; conflicts fail" {
  port=$((20000 + RANDOM % 20000))
  docker run -d --name web1 -p "$port:80" busybox sh -c "$httpd_cmd" >/dev/null
  hip=$(hostname -I | awk '{print $1}')
  ok=
  for i in $(seq 50); do curl -sf --max-time 2 "http://127.0.0.1:$port/" >/dev/null && ok=1 && break; sleep 0.1; done
  [ -n "$ok" ]
  run -0 curl -s --max-time 3 "http://127.0.0.1:$port/"
  [ "$output" = hello-berth ]
  run -0 curl -s --max-time 3 "http://$hip:$port/"
  [ "$output" = hello-berth ]
  run -0 http_get "$hip" "$port"
  [ "$output" = hello-berth ]
  # Listed on 0.0.0.0 and [::], as dockerd: the container has no IPv6, so
  # [::] goes through berth-proxy to its IPv4 address (IPv6 localhost works).
  run -0 docker port web1
  [ "$output" = "80/tcp -> 0.0.0.0:$port
80/tcp -> [::]:$port" ]
  run -0 curl -s -g --max-time 3 "http://[::1]:$port/"
  [ "$output" = hello-berth ]
  run -0 nft list table ip "$BERTHD_NFT_TABLE"
  [[ $output == *"tcp dport $port dnat to"* ]]
  run docker run -d -p "$port:80" busybox true
  [[ $output == *"Bind for 0.0.0.0:$port failed: port is already allocated"* ]]
  docker rm -f web1 >/dev/null
  run -0 nft list table ip "$BERTHD_NFT_TABLE"
  [[ $output != *"dport $port "* ]]
  run curl -s --max-time 1 "http://127.0.0.1:$port/"
  [ "$status" -ne 0 ]
  run curl -s -g --max-time 1 "http://[::1]:$port/"
  [ "$status" -ne 0 ]
}

@test "published ports: ephemeral -p CTR, /udp, -P for EXPOSE, IP:HOST:CTR" {
  docker run -d --name eph1 -p 80 -p 5353:53/udp --expose 7000 -P busybox sleep 60 >/dev/null
  run -0 docker port eph1
  [[ $output == *"53/udp -> 0.0.0.0:5353"* ]]
  [[ $output =~ 80/tcp\ -\>\ 0\.0\.0\.0:[0-9]+ ]]
  [[ $output =~ 7000/tcp\ -\>\ 0\.0\.0\.0:[0-9]+ ]]
  port=$((20000 + RANDOM % 20000))
  docker run -d --name bound1 -p "127.0.0.1:$port:80" busybox sh -c "$httpd_cmd" >/dev/null
  for i in $(seq 50); do curl -sf --max-time 2 "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.1; done
  run -0 curl -s --max-time 3 "http://127.0.0.1:$port/"
  [ "$output" = hello-berth ]
  run -0 docker port bound1 80
  [ "$output" = "127.0.0.1:$port" ]
  docker rm -f eph1 bound1 >/dev/null
}

@test "host, none and container:X modes see the expected interfaces" {
  run -0 docker run --rm --network host busybox ls /sys/class/net
  [[ $output == *"$BERTHD_BRIDGE"* ]]
  run -0 docker run --rm --network none busybox ls /sys/class/net
  [ "$output" = lo ]
  docker run -d --name share1 busybox sleep 60 >/dev/null
  ip=$(docker inspect share1 --format '{{.NetworkSettings.IPAddress}}')
  run -0 docker run --rm --network container:share1 busybox ip -4 -o addr show eth0
  [[ $output == *"inet $ip/"* ]]
  docker rm -f share1 >/dev/null
  run docker run --rm --network container:nosuch busybox true
  [ "$status" -ne 0 ]
}

@test "macvlan on a veth parent; vlan parent fails clearly" {
  parent=bnm${BERTHD_BRIDGE:2}
  ip link add "$parent" type veth peer name "${parent}p"
  ip link set "$parent" up
  ip link set "${parent}p" up
  run -0 docker network create -d macvlan --subnet 10.197.33.0/24 -o parent="$parent" mvnet
  run -0 docker run --rm --network mvnet busybox sh -c 'ip -4 -o addr show eth0; cat /sys/class/net/eth0/address'
  [[ $output == *"inet 10.197.33.2/24"* ]]
  run docker network create -d macvlan -o parent="$parent.100" vlnet
  [ "$status" -ne 0 ]
  [[ $output == *"802.1q"* ]]
  docker network rm mvnet >/dev/null
  ip link del "$parent"
}

@test "internal networks have no route out" {
  docker network create --internal innet >/dev/null
  run -0 docker run --rm --network innet busybox ip route
  [[ $output != *default* ]]
  run -0 nft list table ip "$BERTHD_NFT_TABLE"
  br=br-$(docker network inspect innet --format '{{.Id}}' | cut -c1-12)
  [[ $output == *"iifname \"$br\" oifname != \"$br\" drop"* ]]
  docker network rm innet >/dev/null
}

@test "berth CLI: network create/ls/inspect/connect/disconnect/rm" {
  run -0 berth network create --subnet 10.196.5.0/24 clinet
  [[ $output =~ ^[0-9a-f]{64}$ ]]
  run -0 berth network ls
  [[ ${lines[0]} == "NETWORK ID"*"NAME"*"DRIVER"*"SCOPE"* ]]
  [[ $output == *" clinet "*"bridge"*"local"* ]]
  run -0 berth network inspect --format '{{.Name}} {{.Driver}}' clinet
  [ "$output" = "clinet bridge" ]
  docker run -d --name clic1 busybox sleep 60 >/dev/null
  run -0 berth network connect clinet clic1
  run -0 docker inspect clic1 --format '{{.NetworkSettings.Networks.clinet.IPAddress}}'
  [ "$output" = 10.196.5.2 ]
  run -0 berth network disconnect clinet clic1
  docker rm -f clic1 >/dev/null
  run -0 berth network rm clinet
  [ "$output" = clinet ]
}

@test "a berthd crash leaves no stale sandbox: reconcile removes netns files, veths and rules" {
  docker run -d --name crash1 -p 80 busybox sleep 300 >/dev/null
  docker run -d --name crash2 busybox sleep 300 >/dev/null
  kill9_berthd
  # crash2 dies while berthd is down: its sandbox must go at restart.
  kill -9 "$(cat "$BERTHD_DIR"/exec/shims/$(docker inspect crash2 --format '{{.Id}}' 2>/dev/null || ls "$BERTHD_DIR"/exec/shims | grep -v sock | tail -1)/init.pid 2>/dev/null)" 2>/dev/null || true
  restart_berthd
  run -0 docker inspect crash2 --format '{{.State.Running}}'
  docker rm -f crash2 >/dev/null
  run -0 docker inspect crash1 --format '{{.State.Running}} {{.NetworkSettings.IPAddress}}'
  [[ $output == "true 10."* ]]
  docker rm -f crash1 >/dev/null
  [ -z "$(ls "$BERTHD_DIR/exec/netns")" ]
  run -0 nft list chain ip "$BERTHD_NFT_TABLE" ports
  [[ $output != *dnat* ]]
  no_bridge_ports
}

@test "ps shows published ports and filters by network; --add-host host-gateway; connect a stopped container" {
  docker network create psnet >/dev/null
  docker run -d --name pp1 --network psnet -p 80 --add-host gw.local:host-gateway busybox sleep 60 >/dev/null
  run -0 docker ps --filter network=psnet --format '{{.Names}} {{.Ports}}'
  [[ $output =~ ^pp1\ 0\.0\.0\.0:([0-9]+)-\>80/tcp,\ \[::\]:([0-9]+)-\>80/tcp$ ]]
  [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ]
  run -0 docker ps --filter network=bridge --format '{{.Names}}'
  [[ $output != *pp1* ]]
  gw=$(docker network inspect bridge --format '{{(index .IPAM.Config 0).Gateway}}')
  hosts=$(docker inspect pp1 --format '{{.HostsPath}}')
  grep -q "^$gw	gw.local$" "$hosts"
  # A stopped container connected to a network joins it at its next start.
  id=$(docker create --name late1 busybox sleep 60)
  docker network connect psnet late1
  docker start late1 >/dev/null
  run -0 docker inspect late1 --format '{{len .NetworkSettings.Networks}} {{.NetworkSettings.Networks.psnet.IPAddress}}'
  [[ $output =~ ^2\ 10\. ]]
  docker rm -f pp1 late1 >/dev/null
  docker network rm psnet >/dev/null
}

@test "embedded DNS: forwards to the container's --dns server; answers over TCP too" {
  command -v python3 >/dev/null || skip "python3 needed for the local DNS responder"
  up=127.66.$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1))
  # A tiny upstream: answers every A question with 192.0.2.77.
  cat >"$BATS_TEST_TMPDIR/up.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
s.settimeout(20)
print("ready", flush=True)
while True:
    try:
        q, a = s.recvfrom(1500)
    except socket.timeout:
        break
    end = 12
    while q[end] != 0:
        end += q[end] + 1
    end += 5
    r = q[:2] + b"\x81\x80" + q[4:6] + b"\x00\x01\x00\x00\x00\x00" + q[12:end]
    r += b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + bytes([192, 0, 2, 77])
    s.sendto(r, a)
    print("answered", flush=True)
PY
  python3 "$BATS_TEST_TMPDIR/up.py" "$up" >"$BATS_TEST_TMPDIR/dns.log" 2>&1 3>&- &
  pypid=$!
  for i in $(seq 100); do grep -q ready "$BATS_TEST_TMPDIR/dns.log" 2>/dev/null && break; sleep 0.05; done
  docker network create dnsnet >/dev/null
  run docker run --rm --network dnsnet --dns "$up" busybox nslookup upstream.example 127.0.0.11
  kill "$pypid" 2>/dev/null || true
  [[ $output == *"192.0.2.77"* ]]
  grep -q answered "$BATS_TEST_TMPDIR/dns.log"
  # TCP: a length-prefixed query from inside the container's namespace.
  docker run -d --name tcpdns --network dnsnet busybox sleep 60 >/dev/null
  pid=$(docker inspect tcpdns --format '{{.State.Pid}}')
  run -0 nsenter --net=/proc/$pid/ns/net python3 -c '
import socket, struct
q = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x06tcpdns\x00\x00\x01\x00\x01"
s = socket.create_connection(("127.0.0.11", 53), timeout=3)
s.sendall(struct.pack(">H", len(q)) + q)
n = struct.unpack(">H", s.recv(2))[0]
r = s.recv(n)
print(".".join(str(b) for b in r[-4:]))'
  [ "$output" = "$(docker inspect tcpdns --format '{{.NetworkSettings.Networks.dnsnet.IPAddress}}')" ]
  docker rm -f tcpdns >/dev/null
  docker network rm dnsnet >/dev/null
}

@test "--ip 127.0.0.1 makes published ports loopback-only by default (last: restarts berthd)" {
  pid=$(berthd_pid)
  kill "$pid"
  for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  restart_berthd --ip 127.0.0.1
  docker run -d --name lo1 -p 80 busybox sleep 60 >/dev/null
  run -0 docker port lo1 80
  [[ $output =~ ^127\.0\.0\.1:[0-9]+$ ]]
  port=${output##*:}
  run -0 nft list chain ip "$BERTHD_NFT_TABLE" ports
  [[ $output == *"ip daddr 127.0.0.1 tcp dport $port dnat to"* ]]
  docker rm -f lo1 >/dev/null
}
