#!/usr/bin/env bats
# Tests never touch the host's default network names: every berthd a test,
# script or benchmark starts by hand (not through start_berthd) gets
# throwaway ones (scratch_net_flags), or it would create `berth0` and the
# nftables tables `ip berth` / `ip6 berth` on the host and leave them there.

load ../helpers/berth

@test "every hand-started berthd in tests/, scripts/ and bench/ uses throwaway network names" {
  bad=$(cd "$BERTH_SRC" && find tests scripts bench -type f \( -name '*.bats' -o -name '*.sh' -o -name '*.bash' \) \
          ! -path tests/helpers/berth.bash -print0 |
        xargs -0 awk '
          # join backslash continuations into one logical line
          { line = (cont ? line " " : "") $0; cont = sub(/\\$/, "", line); if (cont) next }
          line ~ /berthd"? / && line ~ /(^|[ "\/])berthd"? / && line ~ / -H / && line ~ /--exec-root/ &&
            line !~ /NET_FLAGS/ && line !~ /^[ \t]*#/ { print FILENAME ": " line }
          { line = "" }')
  if [[ -n $bad ]]; then
    echo "berthd started with the default bridge/nft table names:" >&2
    echo "$bad" >&2
    return 1
  fi
}

@test "scratch_net_flags names are fresh and drop_scratch_net removes what such a daemon made" {
  scratch_net_flags
  a=$SCRATCH_BRIDGE
  [[ $SCRATCH_NET_FLAGS == "--bridge $SCRATCH_BRIDGE --nft-table $SCRATCH_NFT_TABLE --default-address-pool "* ]]
  [[ $SCRATCH_BRIDGE != berth0 && $SCRATCH_NFT_TABLE != berth ]]
  d=$(mktemp -d /tmp/net-hygiene.XXXXXX)
  echo '{}' >"$d/daemon.json"
  "$BERTH_BIN/berthd" -H "unix://$d/s" --data-root "$d/data" --exec-root "$d/exec" --pidfile "$d/pid" \
    --config-file "$d/daemon.json" $SCRATCH_NET_FLAGS >"$d/log" 2>&1 &
  pid=$!
  wait_for_ping "$d/s"
  ip link show "$SCRATCH_BRIDGE" >/dev/null
  nft list table ip "$SCRATCH_NFT_TABLE" >/dev/null
  kill "$pid"; wait "$pid" || true
  drop_scratch_net
  run ip link show "$SCRATCH_BRIDGE"
  [ "$status" -ne 0 ]
  run nft list table ip "$SCRATCH_NFT_TABLE"
  [ "$status" -ne 0 ]
  rm -rf "$d"
  scratch_net_flags
  [ "$SCRATCH_BRIDGE" != "$a" ]
  drop_scratch_net
}
