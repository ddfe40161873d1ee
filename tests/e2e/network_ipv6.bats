#!/usr/bin/env bats
# IPv6 through the real docker CLI: --ipv6 networks, dual-stack containers,
# AAAA/PTR from the embedded DNS, --ip6, ip6 nftables rules and ports
# published on [::] (network_proxy.bats: [::1]). The daemon runs with dockerd's --ipv6
# --fixed-cidr-v6 --ip6tables, so the default bridge is dual-stack too.

bats_require_minimum_version 1.5.0
load ../helpers/berth

setup_file() {
  # A ULA prefix of this run's own, so parallel daemons never share one.
  export V6P=fd$(printf '%02x' $((RANDOM % 256))):$(printf '%x' $((RANDOM % 65536 + 1)))
  start_berthd --ipv6 --fixed-cidr-v6 "$V6P:ff::/64" --ip6tables
  import_busybox
}

teardown_file() {
  docker rm -f $(docker ps -aq) >/dev/null 2>&1 || true
  stop_berthd
}

httpd_cmd='mkdir -p /w && echo hello-v6 > /w/index.html && exec httpd -f -p 80 -h /w'

@test "--ipv6 network: dual-stack eth0, IPv6 default route and sysctls, inspect fields" {
  run -0 docker network create --ipv6 --subnet "$V6P:1::/64" v6net
  run -0 docker network inspect v6net --format '{{.EnableIPv6}} {{len .IPAM.Config}} {{(index .IPAM.Config 1).Subnet}} {{(index .IPAM.Config 1).Gateway}}'
  [ "$output" = "true 2 $V6P:1::/64 $V6P:1::1" ]
  docker run -d --name v6a --network v6net busybox sleep 120 >/dev/null
  run -0 docker exec v6a ip -6 -o addr show eth0 scope global
  [[ $output == *"inet6 $V6P:1::2/64"* ]]
  run -0 docker exec v6a ip -4 -o addr show eth0
  [[ $output == *"inet 10."* ]]
  run -0 docker exec v6a ip -6 route
  [[ $output == *"default via $V6P:1::1 dev eth0"* ]]
  run -0 docker exec v6a cat /proc/sys/net/ipv6/conf/eth0/disable_ipv6
  [ "$output" = 0 ]
  run -0 docker inspect v6a --format '{{.NetworkSettings.Networks.v6net.GlobalIPv6Address}} {{.NetworkSettings.Networks.v6net.GlobalIPv6PrefixLen}} {{.NetworkSettings.Networks.v6net.IPv6Gateway}}'
  [ "$output" = "$V6P:1::2 64 $V6P:1::1" ]
  run -0 docker network inspect v6net --format '{{range .Containers}}{{.IPv6Address}}{{end}}'
  [ "$output" = "$V6P:1::2/64" ]
  run -0 docker exec v6a cat /etc/hosts
  [[ $output == *"$V6P:1::2"* ]]
  # The gateway (the bridge) answers over IPv6.
  run -0 docker exec v6a ping6 -c1 -W2 "$V6P:1::1"
  # A network without IPv6: IPv6 off on the interface, as dockerd.
  docker network create v4net >/dev/null
  run -0 docker run --rm --network v4net busybox cat /proc/sys/net/ipv6/conf/eth0/disable_ipv6
  [ "$output" = 1 ]
  docker network rm v4net >/dev/null
}

@test "two containers ping6 each other by name; AAAA and PTR from the embedded DNS" {
  docker run -d --name v6b --network v6net busybox sleep 120 >/dev/null
  a6=$(docker inspect v6a --format '{{.NetworkSettings.Networks.v6net.GlobalIPv6Address}}')
  b6=$(docker inspect v6b --format '{{.NetworkSettings.Networks.v6net.GlobalIPv6Address}}')
  a4=$(docker inspect v6a --format '{{.NetworkSettings.Networks.v6net.IPAddress}}')
  run -0 docker exec v6b ping6 -c1 -W2 v6a
  [[ $output == *"$a6"* ]]
  run -0 docker exec v6a ping6 -c1 -W2 v6b
  [[ $output == *"$b6"* ]]
  run -0 docker exec v6b nslookup -type=aaaa v6a 127.0.0.11
  [[ $output == *"Address: $a6"* ]]
  run -0 docker exec v6b nslookup -type=a v6a 127.0.0.11
  [[ $output == *"Address: $a4"* ]]
  # Reverse lookups of container addresses, v4 and v6, answer name.network.
  run -0 docker exec v6b nslookup "$a4" 127.0.0.11
  [[ $output == *"name = v6a.v6net"* ]]
  run -0 docker exec v6b nslookup "$a6" 127.0.0.11
  [[ $output == *"name = v6a.v6net"* ]]
  docker rm -f v6b >/dev/null
}

@test "--ip6 on run and network connect; a taken IPv6 address fails with Docker's message" {
  run -0 docker run --rm --network v6net --ip6 "$V6P:1::99" busybox ip -6 -o addr show eth0 scope global
  [[ $output == *"inet6 $V6P:1::99/64"* ]]
  run docker run --rm --network v6net --ip6 "$V6P:1::2" busybox true
  [ "$status" -ne 0 ]
  [[ $output == *"Address already in use"* ]]
  run docker run --rm --network v6net --ip6 "fd99:99::5" busybox true
  [ "$status" -ne 0 ]
  docker network create --ipv6 --subnet "$V6P:2::/64" v6other >/dev/null
  docker run -d --name v6c busybox sleep 120 >/dev/null
  run -0 docker network connect --ip6 "$V6P:2::77" v6other v6c
  run -0 docker exec v6c ip -6 -o addr show eth1 scope global
  [[ $output == *"inet6 $V6P:2::77/64"* ]]
  run -0 docker inspect v6c --format '{{.NetworkSettings.Networks.v6other.IPAMConfig.IPv6Address}} {{.NetworkSettings.Networks.v6other.GlobalIPv6Address}}'
  [ "$output" = "$V6P:2::77 $V6P:2::77" ]
  docker rm -f v6c >/dev/null
}

@test "IPv6 networks are isolated from each other and ULA traffic out is masqueraded, in the ip6 table" {
  docker run -d --name v6o --network v6other busybox sleep 120 >/dev/null
  o6=$(docker inspect v6o --format '{{.NetworkSettings.Networks.v6other.GlobalIPv6Address}}')
  run docker exec v6a ping6 -c1 -W1 "$o6"
  [ "$status" -ne 0 ]
  br=br-$(docker network inspect v6net --format '{{.Id}}' | cut -c1-12)
  run -0 nft list table ip6 "$BERTHD_NFT_TABLE"
  [[ $output == *"ip6 saddr $V6P:1::/64 oifname != \"$br\" masquerade"* ]]
  [[ $output == *"iifname \"$br\" oifname \"br-"* ]]
  # The bridge holds the gateway; the host forwards IPv6.
  run -0 ip -6 -o addr show dev "$br"
  [[ $output == *"$V6P:1::1/64"* ]]
  [ "$(cat /proc/sys/net/ipv6/conf/all/forwarding)" = 1 ]
  docker rm -f v6o >/dev/null
}

# A global IPv6 address of the host outside berth's bridges (or nothing).
host_v6() {
  ip -6 -o addr show scope global | grep -v -E ' (br-|bt|berth)' | awk '{print $4}' | cut -d/ -f1 | head -1
}

@test "a port published on a host IPv6 address answers there" {
  hv6=$(host_v6)
  [[ -n $hv6 ]] || skip "the host has no global IPv6 address"
  docker run -d --name web6 --network v6net -p "[$hv6]::80" busybox sh -c "$httpd_cmd" >/dev/null
  run -0 docker port web6 80
  [[ $output =~ ^\[$hv6\]:([0-9]+)$ ]]
  port=${BASH_REMATCH[1]}
  run -0 nft list chain ip6 "$BERTHD_NFT_TABLE" ports
  [[ $output == *"ip6 daddr $hv6 tcp dport $port dnat to [$V6P:1::"* ]]
  for i in $(seq 40); do curl -fsS -m 2 "http://[$hv6]:$port/" >/dev/null 2>&1 && break; sleep 0.1; done
  run -0 curl -fsS -m 3 "http://[$hv6]:$port/"
  [ "$output" = hello-v6 ]
  # Taken while published.
  run docker run --rm --network v6net -p "[$hv6]:$port:80" busybox true
  [ "$status" -ne 0 ]
  [[ $output == *"port is already allocated"* ]]
  docker rm -f web6 >/dev/null
}

@test "bad IPv6 input fails with Docker's messages and creates nothing" {
  run docker network create --ipv6 nosubnet6
  [ "$status" -ne 0 ]
  [[ $output == *"could not find an available, non-overlapping IPv6 address pool among the defaults to assign to the network"* ]]
  run docker network create --ipv6 --subnet "$V6P:1:0:0:1::/80" overlap6
  [[ $output == *"Pool overlaps with other one on this address space"* ]]
  run docker network create --ipv6 --subnet "fd00::zz/64" badcidr6
  [[ $output == *"invalid CIDR address: fd00::zz/64"* ]]
  run docker network create --ipv6 --subnet "$V6P:3::/64" --gateway "$V6P:4::1" badgw6
  [[ $output == *"no matching subnet for gateway $V6P:4::1"* ]]
  run docker network create --subnet "$V6P:5::/64" noflag6
  [ "$status" -ne 0 ]
  [[ $output == *"--ipv6"* ]]
  docker network create v4only >/dev/null
  run docker network connect --ip6 "$V6P:1::5" v4only v6a
  [ "$status" -ne 0 ]
  run -0 docker network ls --format '{{.Name}}'
  [[ $output != *nosubnet6* && $output != *overlap6* && $output != *badcidr6* && $output != *badgw6* && $output != *noflag6* ]]
}

@test "daemon --ipv6 --fixed-cidr-v6 --ip6tables: the default bridge is dual-stack and -p publishes on [::] too" {
  run -0 docker network inspect bridge --format '{{.EnableIPv6}} {{(index .IPAM.Config 1).Subnet}}'
  [ "$output" = "true $V6P:ff::/64" ]
  docker run -d --name webb -p 80 busybox sh -c "$httpd_cmd" >/dev/null
  run -0 docker inspect webb --format '{{.NetworkSettings.GlobalIPv6Address}} {{.NetworkSettings.IPv6Gateway}}'
  [[ $output == "$V6P:ff::"*" $V6P:ff::1" ]]
  run -0 docker port webb 80
  [[ $output == *"0.0.0.0:"* && $output == *"[::]:"* ]]
  port=$(docker port webb 80 | head -1 | sed 's/.*://')
  [ "$(docker port webb 80 | sed 's/.*://' | sort -u)" = "$port" ]
  for i in $(seq 40); do curl -fsS -m 2 "http://127.0.0.1:$port/" >/dev/null 2>&1 && break; sleep 0.1; done
  run -0 curl -fsS -m 3 "http://127.0.0.1:$port/"
  [ "$output" = hello-v6 ]
  run -0 nft list chain ip6 "$BERTHD_NFT_TABLE" ports
  [[ $output == *"tcp dport $port dnat to [$V6P:ff::"* ]]
  hv6=$(host_v6)
  if [[ -n $hv6 ]]; then
    run -0 curl -fsS -m 3 "http://[$hv6]:$port/"
    [ "$output" = hello-v6 ]
  fi
  docker rm -f webb >/dev/null
}
