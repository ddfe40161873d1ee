#!/usr/bin/env bats
# End-to-end: docker commit pauses a running container while it reads the
# writable layer (pause=true, Docker's default) and leaves it running with
# --pause=false; the commit layer keeps hard links and extended attributes.

bats_require_minimum_version 1.5.0
load ../helpers/berth

setup_file() {
  start_berthd
  import_busybox busybox:latest
}

teardown_file() {
  stop_berthd
}

# events_of CONTAINER SINCE: the container's actions since SINCE, in order.
events_of() {
  docker events --since "$2" --until "$(date +%s.%N)" --filter "container=$1" --format '{{.Action}}'
}

@test "commit of a running container: pause, commit, unpause events in that order; still running after" {
  docker run -d --name cp-run busybox sh -c 'i=0; while :; do i=$((i+1)); echo $i > /counter; done' >/dev/null
  local t0
  t0=$(date +%s.%N)
  run docker commit cp-run cp/img:paused
  [ "$status" -eq 0 ]
  run events_of cp-run "$t0"
  [ "$status" -eq 0 ]
  [ "$(echo "$output" | tr '\n' ' ')" = "pause commit unpause " ]
  run docker inspect -f '{{.State.Running}} {{.State.Paused}}' cp-run
  [ "$output" = "true false" ]
  run docker run --rm cp/img:paused ls /counter
  [ "$status" -eq 0 ]
}

@test "commit --pause=false does not pause" {
  local t0
  t0=$(date +%s.%N)
  run docker commit --pause=false cp-run cp/img:nopause
  [ "$status" -eq 0 ]
  run events_of cp-run "$t0"
  [ "$(echo "$output" | tr '\n' ' ')" = "commit " ]
}

@test "the container is frozen while its layer is read (observed from outside during a slow commit)" {
  docker exec cp-run sh -c 'dd if=/dev/urandom of=/big bs=1M count=96 2>/dev/null'
  docker commit cp-run cp/img:big >"$BATS_TEST_TMPDIR/out" 2>&1 &
  local cpid=$! seen=false i
  for ((i = 0; i < 600; i++)); do
    if [[ $(docker inspect -f '{{.State.Paused}}' cp-run) == true ]]; then
      seen=true
      break
    fi
    kill -0 "$cpid" 2>/dev/null || break
    sleep 0.01
  done
  wait "$cpid"
  [ "$seen" = true ]
  run docker inspect -f '{{.State.Paused}}' cp-run
  [ "$output" = false ]
  # with --pause=false the same slow commit never shows it paused
  docker commit --pause=false cp-run cp/img:big2 >/dev/null 2>&1 &
  cpid=$!
  seen=false
  for ((i = 0; i < 600; i++)); do
    [[ $(docker inspect -f '{{.State.Paused}}' cp-run) == true ]] && seen=true
    kill -0 "$cpid" 2>/dev/null || break
    sleep 0.01
  done
  wait "$cpid"
  [ "$seen" = false ]
  docker rm -f cp-run >/dev/null
  docker rmi cp/img:big cp/img:big2 >/dev/null
}

@test "commit keeps hard links (one inode) and extended attributes" {
  docker run --name cp-hl busybox sh -c 'echo linked > /a; ln /a /b; mkdir /d; echo y > /d/f'
  local upper
  upper=$(docker inspect -f '{{.GraphDriver.Data.UpperDir}}' cp-hl)
  python3 -c 'import os, sys; os.setxattr(sys.argv[1] + "/a", "user.berth", b"xa"); os.setxattr(sys.argv[1] + "/d", "user.dir", b"xd")' "$upper"
  run docker commit cp-hl cp/img:hl
  [ "$status" -eq 0 ]
  run docker run --rm cp/img:hl sh -c 'stat -c "%i %h" /a /b'
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 2 ]
  [ "${lines[0]}" = "${lines[1]}" ]
  [[ ${lines[0]} == *" 2" ]]
  # the new image's top layer on disk carries the attributes
  local layer
  layer=$(docker image inspect -f '{{.GraphDriver.Data.UpperDir}}' cp/img:hl)
  [ -d "$layer" ]
  run python3 -c 'import os, sys; print(os.getxattr(sys.argv[1] + "/a", "user.berth").decode(), os.getxattr(sys.argv[1] + "/d", "user.dir").decode(), os.stat(sys.argv[1] + "/a").st_ino == os.stat(sys.argv[1] + "/b").st_ino)' "$layer"
  [ "$output" = "xa xd True" ]
  # and so does the saved archive (xattrs as PAX records)
  docker save cp/img:hl | tar -xO --wildcards '*/layer.tar' 2>/dev/null > "$BATS_TEST_TMPDIR/layers" || true
  grep -aq 'user.berth' "$BATS_TEST_TMPDIR/layers"
}

@test "kill -9 of berthd while a commit holds the container paused: the next start thaws it" {
  docker run -d --name cp-crash busybox sh -c \
    'dd if=/dev/urandom of=/big bs=1M count=128 2>/dev/null; echo ready > /ready; while :; do sleep 0.2; done' >/dev/null
  local i seen=false
  for ((i = 0; i < 600; i++)); do
    [[ $(docker exec cp-crash cat /ready 2>/dev/null) == ready ]] && break
    sleep 0.1
  done
  [[ $(docker exec cp-crash cat /ready) == ready ]]
  docker commit cp-crash cp/img:crash >/dev/null 2>&1 &
  local cpid=$!
  for ((i = 0; i < 1000; i++)); do
    if [[ $(docker inspect -f '{{.State.Paused}}' cp-crash 2>/dev/null) == true ]]; then
      seen=true
      break
    fi
    kill -0 "$cpid" 2>/dev/null || break
    sleep 0.01
  done
  [ "$seen" = true ]
  # the daemon dies with the container frozen for its commit
  kill9_berthd
  wait "$cpid" || true
  [ -n "$(ls "$BERTHD_DIR/data/commit-pauses")" ]
  restart_berthd
  run docker inspect -f '{{.State.Running}} {{.State.Paused}}' cp-crash
  [ "$output" = "true false" ]
  # really thawed: a process runs in it
  run timeout 30 docker exec cp-crash cat /ready
  [ "$status" -eq 0 ]
  [ "$output" = ready ]
  [ -z "$(ls "$BERTHD_DIR/data/commit-pauses")" ]
  # no half-visible image, and a commit now succeeds
  run docker image inspect cp/img:crash
  [ "$status" -ne 0 ]
  run docker commit cp-crash cp/img:crash
  [ "$status" -eq 0 ]
  run docker inspect -f '{{.State.Paused}}' cp-crash
  [ "$output" = false ]
  docker rm -f cp-crash >/dev/null
  docker rmi cp/img:crash >/dev/null
}

@test "a user's pause is not undone by the start-up recovery" {
  docker run -d --name cp-user busybox sleep 1000 >/dev/null
  docker pause cp-user
  kill9_berthd
  restart_berthd
  run docker inspect -f '{{.State.Paused}}' cp-user
  [ "$output" = true ]
  docker unpause cp-user
  docker rm -f cp-user >/dev/null
}
