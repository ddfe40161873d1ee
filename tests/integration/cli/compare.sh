#!/bin/bash
# Compares `berth` with the real docker CLI 28, command by command, against
# the same Docker-API daemon: stdout, stderr and exit codes must match after
# normalisation (docker→berth, IDs, relative times, the client sections of
# version/info).
#
#   tests/integration/cli/compare.sh                 # starts a private dockerd (root)
#   SOCK=unix:///run/berth/berth.sock tests/integration/cli/compare.sh   # any daemon
#
# BERTH: path of the berth binary (default: build/bin/berth next to the repo).
# DOCKER: path of the docker CLI (default: docker in PATH).
# Exit status: number of failed comparisons (0 = all equal).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
BERTH=${BERTH:-$REPO/build/bin/berth}
DOCKER=${DOCKER:-docker}
WORK=$(mktemp -d /tmp/berth-cli-compare-XXXXXX)
DOCKERD_PID=
cleanup() {
  if [ -n "$DOCKERD_PID" ]; then
    $DOCKER -H "$SOCK" rm -f $($DOCKER -H "$SOCK" ps -aq 2>/dev/null) >/dev/null 2>&1
    kill "$DOCKERD_PID" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.2; done
    grep -o " $WORK/[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

[ -x "$BERTH" ] || { echo "berth binary not found at $BERTH (set BERTH=)"; exit 1; }

if [ -z "${SOCK:-}" ]; then
  [ "$(id -u)" = 0 ] || { echo "needs root to start a private dockerd (or set SOCK=)"; exit 1; }
  SOCK=unix://$WORK/docker.sock
  dockerd -H "$SOCK" --data-root "$WORK/root" --exec-root "$WORK/exec" --pidfile "$WORK/docker.pid" \
    --bridge=none --iptables=false --ip6tables=false >"$WORK/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  for _ in $(seq 100); do $DOCKER -H "$SOCK" version >/dev/null 2>&1 && break; sleep 0.2; done
fi
D() { $DOCKER -H "$SOCK" "$@"; }
B() { "$BERTH" -H "$SOCK" "$@"; }

# busybox:latest from the host's static busybox, as the task describes.
if ! D image inspect busybox:latest >/dev/null 2>&1; then
  R=$WORK/rootfs
  mkdir -p "$R/bin" "$R/tmp" "$R/etc" "$R/proc" "$R/sys" "$R/dev"
  cp /bin/busybox "$R/bin/busybox"
  for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$R/bin/$a"; done
  tar -C "$R" -c . | D import -c 'CMD ["sh"]' - busybox:latest >/dev/null || exit 1
fi
tar -C / -c bin/busybox > "$WORK/small.tar"
NET="--network none"

norm() {
  sed -E -e 's/[Dd]ocker/berth/g' \
    -e 's/\b[0-9a-f]{64}\b/<ID64>/g' -e 's/\b[0-9a-f]{12}\b/<ID12>/g' \
    -e 's/(Less than a second|About a minute|About an hour|[0-9]+ (seconds?|minutes|hours|days)) ago/<AGO>/g' \
    -e 's/Up (Less than a second|About a minute|[0-9]+ (seconds?|minutes))/Up <DUR>/g' \
    -e 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z/<TIME>/g' \
    -e 's/"(time|timeNano)":[0-9]+/"\1":<T>/g' \
    -e 's/n_[db]_/n_X_/g' "$@"
}
# Table rows whose CREATED/STATUS cells can tick between the two runs: compare
# cells, not padding (exact widths are covered by the other cases and the
# unit goldens).
squeeze() { sed -E 's/   +/   /g'; }
# Only the server part of version/info (the client parts describe different programs).
# docker prints the runtime names in Go map order (random): sort them.
server_only() {
  sed -n '/^Server:/,$p' | while IFS= read -r line; do
    if [[ $line == " Runtimes: "* ]]; then
      echo " Runtimes:$(for w in ${line# Runtimes: }; do echo "$w"; done | sort | tr '\n' ' ' | sed 's/^/ /; s/ $//')"
    else
      printf '%s\n' "$line"
    fi
  done
}

PASS=0
FAIL=0
# cmp_run FILTER ARGS...: runs docker and berth with ARGS; "{N}" in ARGS
# becomes a per-client name (n_d_KEY / n_b_KEY; KEY defaults to the
# case number) so stateful cases do not collide. FILTER post-processes stdout
# (cat or server_only).
K=0
cmp_run() {
  local filter=$1
  shift
  K=$((K + 1))
  local key=${KEY:-$K} dargs=() bargs=() a
  for a in "$@"; do dargs+=("${a//\{N\}/n_d_$key}"); bargs+=("${a//\{N\}/n_b_$key}"); done
  D "${dargs[@]}" <"${STDIN:-/dev/null}" >"$WORK/d.out" 2>"$WORK/d.err"
  local drc=$?
  B "${bargs[@]}" <"${STDIN:-/dev/null}" >"$WORK/b.out" 2>"$WORK/b.err"
  local brc=$?
  local ok=1
  if ! diff <($filter <"$WORK/d.out" | norm) <($filter <"$WORK/b.out" | norm) >"$WORK/diff"; then
    ok=0
    echo "--- stdout differs: $*"
    sed 's/^/    /' "$WORK/diff"
  fi
  if ! diff <(norm "$WORK/d.err") <(norm "$WORK/b.err") >"$WORK/diff"; then
    ok=0
    echo "--- stderr differs: $*"
    sed 's/^/    /' "$WORK/diff"
  fi
  if [ "$drc" != "$brc" ]; then
    ok=0
    echo "--- exit code differs: $* (docker $drc, berth $brc)"
  fi
  if [ $ok = 1 ]; then PASS=$((PASS + 1)); echo "ok   $*"; else FAIL=$((FAIL + 1)); echo "FAIL $*"; fi
}
c() { cmp_run cat "$@"; }

# Flag syntax and usage errors (exit 125 / 1).
c run --foo busybox
c ps --foo
c ps -x
c run -e
c ps -n abc
c --foo
c -H
c foo
c rm
c logs
c logs a b
c run
c inspect
c import
c ps extra
c info extra

# run: output, exit codes, flags, error mapping.
c run --rm $NET busybox echo hello
c run --rm $NET busybox sh -c 'echo out; echo err >&2; exit 3'
c run --rm $NET busybox ls -la /bin/busybox
c run --rm $NET -e A=1 -eB=2 --env=C=3 -e D busybox sh -c 'env | sort'
c run --rm $NET -w /tmp -u 1:1 -h myhost busybox sh -c 'pwd; id; hostname'
c run --rm $NET --entrypoint echo busybox a b
c run --rm $NET busybox -- echo x
c run --rm $NET busybox /nope
c run --rm $NET busybox /etc
c run --rm $NET nosuchimage
c run --rm $NET BAD
c run --rm $NET --restart always busybox true
c run --rm $NET -it busybox true
STDIN=$WORK/small.tar c run --rm -i $NET busybox wc -c
printf '# comment\n\nFOO=bar\n  SPACED=x y\nHOMEVAR\nUNSETVAR\n' >"$WORK/envfile"
printf 'BAD KEY=1\n' >"$WORK/badenv"
HOMEVAR=fromenv c run --rm $NET --env-file "$WORK/envfile" -e X=1 busybox sh -c 'env | sort | grep -v HOSTNAME'
c run --rm $NET --env-file "$WORK/badenv" busybox true
c run --rm $NET -p 1-2:3-5 busybox true
c run --rm $NET -p x:80 busybox true
c run $NET --name {N} busybox true
c run $NET --name {N} -l a=b busybox sh -c 'echo o1; echo e1 >&2'

# -d, ps, logs, inspect, rm -f
KEY=bg c run -d $NET --name {N} busybox sh -c 'echo line1; sleep 0.1; echo err1 >&2; sleep 0.1; echo line2; sleep 30'
sleep 1
KEY=bg c logs {N}
KEY=bg c logs -t {N}
KEY=bg c logs --tail 1 {N}
KEY=bg c logs --since 10m {N}
KEY=bg c logs --until 2020-01-01T00:00:00Z {N}
KEY=bg c logs --since bogus {N}
KEY=bg cmp_run squeeze ps -f name={N}
KEY=bg cmp_run squeeze ps -a -s -f name={N}
KEY=bg c ps -q --no-trunc -f name={N}
KEY=bg c ps --format '{{.Names}} {{.Command}} {{.Status}}' -f name={N}
KEY=bg c inspect -f '{{.State.Status}} {{.Config.Cmd}} {{json .Config.Env}} {{.HostConfig.NetworkMode}}' {N}
KEY=bg c inspect --type container -f '{{.Name}}' {N}
KEY=bg c rm -f {N}
# ps over the same containers through both CLIs (fixed names, not {N}):
# labels (one non-ASCII), a command long enough to truncate, created and
# exited states; table, --no-trunc, -q, -n, filters and --format fields.
D create $NET --name ps_cmp_a -l pscmp=1 -l $'z\xc3\xa9=\xc3\xbc' -l k=v busybox sh -c 'echo a long command line; sleep 1000' >/dev/null
D create $NET --name ps_cmp_b -l pscmp=1 busybox true >/dev/null
D run $NET --name ps_cmp_c -l pscmp=2 busybox sh -c 'exit 3' >/dev/null
cmp_run squeeze ps -a -f label=pscmp
cmp_run squeeze ps -a --no-trunc -f label=pscmp
c ps -a -q -f label=pscmp
c ps -a -f label=pscmp=1 --format '{{.Names}}|{{.Labels}}|{{.Command}}|{{.State}}|{{.Ports}}|{{.Image}}'
c ps -a -f label=pscmp --format 'table {{.Names}}\t{{.Labels}}\t{{.Status}}'
c ps -n 2 -f label=pscmp --format '{{.Names}}'
c ps -l -f label=pscmp --format '{{.Names}} {{.Status}}'
c ps -a -f label=pscmp -f status=exited --format '{{.Names}} {{.Status}} {{.State}}'
c ps -a -f label=pscmp -f name=ps_cmp_b --no-trunc --format '{{.ID}} {{.Command}}'
D rm -f ps_cmp_a ps_cmp_b ps_cmp_c >/dev/null
c rm nosuch
c rm -f nosuch
c logs nosuch

# start/stop/restart/kill/wait/attach: output, errors, exit codes.
c start nosuch
c start nosuch nosuch2
c start -a nosuch
c start -a x y
c start
c start --checkpoint x nosuch
c stop nosuch
c stop nosuch n2
c stop -t x a
c stop --time 1 nosuch
c stop --time 1 -t 2 nosuch
c stop
c restart nosuch
c kill nosuch
c kill -s FOO nosuch
c wait nosuch
c wait
c attach nosuch
c attach a b
KEY=lc c create $NET --name {N} busybox sh -c 'echo out; echo err >&2; exit 3'
KEY=lc c start -a {N}
KEY=lc c wait {N}
KEY=lc c container start -a {N}
KEY=lc c start {N}
KEY=lc c wait {N}
KEY=lc c restart -t 0 {N}
KEY=lc c wait {N}
KEY=lc c attach {N}
KEY=lc c kill {N}
KEY=lc c stop {N}
KEY=lc c inspect -f '{{.State.Status}} {{.State.ExitCode}}' {N}
KEY=lc c rm {N}
KEY=lk c run -d $NET --name {N} busybox sleep 100
KEY=lk c kill -s USR1 {N}
KEY=lk c stop -t 1 {N}
KEY=lk c wait {N}
KEY=lk c container start {N}
KEY=lk c container kill {N}
KEY=lk c container wait {N}
KEY=lk c inspect -f '{{.State.Status}} {{.State.ExitCode}}' {N}
KEY=lk c rm {N}

# images, import, inspect
c images
c images -q
c images --digests
c images --no-trunc
c images busybox
c import "$WORK/small.tar" imported:{N}
c import -c 'CMD ["sh"]' -m hello "$WORK/small.tar" imported:{N}
c import "$WORK/nonexistent.tar"
c import "$WORK/small.tar" BAD:x
STDIN=$WORK/small.tar c import - imported:{N}
c inspect busybox
c inspect -f '{{.Config.Cmd}} {{.Os}}' busybox
c inspect nosuch
c inspect --type container nosuch
c inspect --type image nosuch
c inspect -f '{{.Nope}}' busybox

# commit, history, events, system df / prune, search (issues #4/#5)
c commit
c commit a b c
c commit nosuch
c commit nosuch x@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
EV_SINCE=$(date +%s)
KEY=cm c run $NET --name {N} busybox sh -c 'echo hi > /hello'
KEY=cm c commit -a 'A <a@b>' -m 'a message' -c 'ENV A=1' -c 'CMD ["cat","/hello"]' {N} committed:{N}
KEY=cm c commit -p=false {N}
KEY=cm c commit {N} BAD
KEY=cm c commit -c 'BOGUS x' {N}
KEY=cm c container commit -c 'FROM x' {N}
KEY=cm c history --format '{{.ID}}|{{.CreatedBy}}|{{.Size}}|{{.Comment}}' committed:{N}
KEY=cm c history --no-trunc --format '{{.ID}}|{{.CreatedBy}}|{{.Size}}' committed:{N}
KEY=cm c history -H=false --format 'table {{.ID}}\t{{.CreatedBy}}\t{{.Size}}' committed:{N}
KEY=cm c history -q committed:{N}
KEY=cm c history --format json committed:{N}
KEY=cm c inspect -f '{{.Author}} {{.Comment}} {{.Config.Cmd}}' committed:{N}
cmp_run squeeze history busybox
cmp_run squeeze image history --no-trunc busybox
c history nosuch
c history
c history --platform linux/amd64 busybox
sleep 1
EV_UNTIL=$(date +%s)
KEY=cm c events --since "$EV_SINCE" --until "$EV_UNTIL" -f container={N}
KEY=cm c events --since "$EV_SINCE" --until "$EV_UNTIL" -f container={N} --format '{{json .}}'
KEY=cm c system events --since "$EV_SINCE" --until "$EV_UNTIL" -f container={N} -f event=commit --format json
KEY=cm c events --since "$EV_SINCE" --until "$EV_UNTIL" -f container={N} --format '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}'
# One client's container for both: the same events, so times must match to
# the nanosecond, in a zone east and west of UTC.
TZ=Asia/Kolkata c events --since "$EV_SINCE" --until "$EV_UNTIL" -f container=n_d_cm
TZ=America/New_York c events --since "$EV_SINCE" --until "$EV_UNTIL" -f container=n_d_cm
TZ=Asia/Kolkata c history -H=false committed:n_d_cm
c events --since 2020-01-01T00:00:00Z --until 2020-01-02T00:00:00Z
c events --since bogus --until 1s
c events -f bogus=1 --until 1s
c events -f bogus --until 1s
c events --format '{{.Nope' --until 1s
c events extra
c system df
c system df --format json
c system df --format 'table {{.Type}}\t{{.TotalCount}}'
c system df extra
cmp_run squeeze system df -v
printf 'n\n' >"$WORK/no"
STDIN=$WORK/no c system prune
STDIN=$WORK/no c system prune -a --volumes --filter label=a
c system prune --volumes --filter until=1h
c system prune --filter bogus
c system prune extra
c search

# version and info: server sections and exit codes
cmp_run server_only version
cmp_run server_only info

D rm -f $(D ps -aq -f name=n_d_ -f name=n_b_) >/dev/null 2>&1
D rmi -f committed:n_d_cm committed:n_b_cm >/dev/null 2>&1
echo
echo "$PASS passed, $FAIL failed"
exit $FAIL
