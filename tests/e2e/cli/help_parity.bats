#!/usr/bin/env bats
# `berth X --help` against docker CLI 28's `docker X --help`: the layout
# (no leading blank line, Usage with the command path docker shows, the
# description, the Aliases section) up to the Options heading must be the
# same, docker→berth. Needs no daemon. (The option lists themselves differ
# where berth lacks a flag; they are not compared here.)

bats_require_minimum_version 1.5.0
load ../../helpers/berth

head_of() { sed -n '1,/^Options:/p'; }

@test "help: Usage, description and Aliases match docker CLI 28 for every berth command" {
  command -v docker >/dev/null || skip "docker CLI missing"
  local c bad=0
  while read -r c; do
    [[ -n $c ]] || continue
    # shellcheck disable=SC2086
    if ! diff <(docker $c --help 2>&1 </dev/null | head_of | sed 's/docker/berth/g') \
              <("$BERTH_BIN/berth" $c --help 2>&1 </dev/null | head_of) >"$BATS_TEST_TMPDIR/d"; then
      echo "== $c"; cat "$BATS_TEST_TMPDIR/d"; bad=$((bad + 1))
    fi
  done <<'LIST'
run
create
cp
export
diff
ps
logs
rm
start
stop
restart
kill
wait
attach
images
import
inspect
version
info
exec
pause
unpause
rename
top
port
update
stats
pull
push
tag
rmi
save
load
login
logout
commit
history
events
search
container ls
container list
container ps
container rm
container remove
container kill
container attach
image ls
image list
image rm
image remove
system info
system events
network ls
network list
network rm
network create
volume ls
volume list
volume rm
volume create
LIST
  [ "$bad" -eq 0 ]
}

@test "help: docker's exact Aliases lines" {
  run "$BERTH_BIN/berth" ps --help
  [ "${lines[0]}" = "Usage:  berth ps [OPTIONS]" ]
  [[ $output == *$'\n\nAliases:\n  berth container ls, berth container list, berth container ps, berth ps\n\nOptions:\n'* ]]
  run "$BERTH_BIN/berth" container list --help
  [ "${lines[0]}" = "Usage:  berth container ls [OPTIONS]" ]
  run "$BERTH_BIN/berth" kill --help
  [[ $output == *$'Aliases:\n  berth container kill, berth kill\n'* ]]
  # No flags, no Options section (docker port).
  run "$BERTH_BIN/berth" port --help
  [[ $output != *Options:* ]]
}
