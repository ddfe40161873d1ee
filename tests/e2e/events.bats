#!/usr/bin/env bats
# GET /events through the real docker CLI: backlog with --since/--until,
# filters, --format, live streaming, and the lifecycle actions berthd emits.

bats_require_minimum_version 1.5.0
load ../helpers/berth

setup_file() {
  start_berthd
  import_busybox busybox:latest
}

teardown_file() {
  stop_berthd
}

@test "events: run/exit/rm emit create, start, die (exitCode), destroy with name, image and labels" {
  t0=$(date +%s)
  id=$(docker run -d --name ev1 -l team=blue busybox sh -c 'exit 3')
  docker wait ev1
  docker rm ev1
  run docker events --since "$t0" --until "$(($(date +%s) + 1))" --filter container=ev1 \
    --format '{{.Type}} {{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.image}} {{.Actor.Attributes.team}} {{.Actor.Attributes.exitCode}}'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "container create ev1 busybox blue <no value>" ]
  [ "${lines[1]}" = "container start ev1 busybox blue <no value>" ]
  [ "${lines[2]}" = "container die ev1 busybox blue 3" ]
  [ "${lines[3]}" = "container destroy ev1 busybox blue <no value>" ]
  [ "${#lines[@]}" -eq 4 ]
}

@test "events: Docker's JSON shape (status/id/from, Actor, scope, time, timeNano)" {
  t0=$(date +%s)
  id=$(docker create --name shape busybox true)
  out=$(curl -sf --unix-socket "$BERTHD_SOCK" "http://d/v1.41/events?since=$t0&until=$(($(date +%s) + 1))&filters=%7B%22container%22%3A%5B%22shape%22%5D%7D")
  run jq -r '[.status, .id, .from, .Type, .Action, .Actor.ID, .Actor.Attributes.name, .scope, (.time|tostring), ((.timeNano/1000000000|floor) == .time|tostring)] | join(" ")' <<<"$out"
  [ "$output" = "create $id busybox container create $id shape local $(jq -r .time <<<"$out") true" ]
  docker rm shape
}

@test "events: stop emits kill (signal 15), die, stop; kill -s emits its signal" {
  docker run -d --name stopper busybox sh -c "trap 'exit 0' TERM; sleep 300 & wait"
  sleep 0.3
  t0=$(date +%s.%N)
  docker stop -t 5 stopper
  run docker events --since "$t0" --until "$(date +%s.%N)" --filter container=stopper \
    --format '{{.Action}} {{.Actor.Attributes.signal}}'
  [ "${lines[0]}" = "kill 15" ]
  [ "${lines[1]}" = "die <no value>" ]
  [ "${lines[2]}" = "stop <no value>" ]
  [ "${#lines[@]}" -eq 3 ]
  docker start stopper
  t1=$(date +%s.%N)
  docker kill -s USR1 stopper
  docker kill stopper
  run docker events --since "$t1" --until "$(date +%s.%N)" --filter container=stopper --filter event=kill \
    --format '{{.Actor.Attributes.signal}}'
  [ "$output" = $'10\n9' ]
  docker rm -f stopper
}

@test "events: filters by event, type, label, image; unknown filter is 400" {
  t0=$(date +%s.%N)
  docker run --name fa -l k=v1 busybox true
  docker run --name fb -l k=v2 busybox true
  until=$(($(date +%s) + 1))
  run docker events --since "$t0" --until "$until" --filter event=die --filter label=k=v2 --format '{{.Actor.Attributes.name}}'
  [ "$output" = fb ]
  run docker events --since "$t0" --until "$until" --filter type=container --filter event=destroy --format '{{.Actor.Attributes.name}}'
  [ "$output" = "" ]
  run docker events --since "$t0" --until "$until" --filter image=busybox --filter event=start --format '{{.Actor.Attributes.name}}'
  [ "$output" = $'fa\nfb' ]
  run docker events --since "$t0" --until "$until" --filter type=image --format '{{.Action}}'
  [ "$output" = "" ]
  run docker events --since "$t0" --until "$until" --filter bogus=1
  [ "$status" -ne 0 ]
  [[ $output == *"invalid filter 'bogus'"* ]]
  docker rm fa fb
}

@test "events: RFC 3339 since/until (as the CLI sends for dates)" {
  t0=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)
  docker create --name rfc busybox true
  t1=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)
  docker rm rfc
  run curl -sf --unix-socket "$BERTHD_SOCK" "http://d/events?since=$t0&until=$t1"
  [ "$(jq -r .Action <<<"$output")" = create ]
}

@test "events: live stream delivers new events until the client leaves" {
  docker events --filter container=live --format '{{.Action}}' >"$BERTHD_DIR/live.out" &
  pid=$!
  sleep 0.5
  docker run --name live busybox true
  docker rm live
  for i in $(seq 50); do grep -q destroy "$BERTHD_DIR/live.out" && break; sleep 0.1; done
  kill "$pid"
  run cat "$BERTHD_DIR/live.out"
  [ "$output" = $'create\nattach\nstart\ndie\ndestroy' ] || [ "$output" = $'create\nstart\nattach\ndie\ndestroy' ]
}

@test "events: the ring keeps the last 1000" {
  t0=$(date +%s)
  for i in $(seq 510); do
    curl -sf --unix-socket "$BERTHD_SOCK" -H 'Content-Type: application/json' \
      -d '{"Image":"busybox","Cmd":["true"]}' http://d/containers/create >/dev/null
  done
  docker rm $(docker ps -aq) >/dev/null
  run bash -c "curl -sf --unix-socket '$BERTHD_SOCK' 'http://d/events?since=1&until=$(($(date +%s) + 1))' | wc -l"
  [ "$output" -eq 1000 ]
  # the oldest kept is the 21st of ours: the first creates fell out
  run bash -c "curl -sf --unix-socket '$BERTHD_SOCK' 'http://d/events?since=1&until=$(($(date +%s) + 1))' | head -1 | jq -r .Action"
  [ "$output" = create ]
}

@test "events: restart and resize" {
  docker run -d -t --name rr busybox sleep 300
  t0=$(date +%s.%N)
  docker restart -t 1 rr
  curl -sf --unix-socket "$BERTHD_SOCK" -X POST "http://d/containers/rr/resize?h=30&w=90"
  run docker events --since "$t0" --until "$(date +%s.%N)" --filter container=rr --format '{{.Action}} {{.Actor.Attributes.width}}'
  [[ $output == *"start <no value>"$'\n'"restart <no value>"* ]]
  [[ $output == *"resize 90"* ]]
  docker rm -f rr
}

@test "events: pause, unpause, rename, exec_create/exec_start/exec_die" {
  id=$(docker run -d --name pe busybox sleep 300)
  t0=$(date +%s.%N)
  docker pause pe
  docker unpause pe
  docker rename pe pe2
  docker exec pe2 sh -c 'exit 3' || true
  run docker events --since "$t0" --until "$(date +%s.%N)" --filter container="$id" \
    --format '{{.Action}}|{{.Actor.Attributes.name}}|{{.Actor.Attributes.oldName}}|{{.Actor.Attributes.exitCode}}'
  [ "${lines[0]}" = "pause|pe|<no value>|<no value>" ]
  [ "${lines[1]}" = "unpause|pe|<no value>|<no value>" ]
  [ "${lines[2]}" = "rename|pe2|/pe|<no value>" ]
  [ "${lines[3]}" = "exec_create: sh -c exit 3|pe2|<no value>|<no value>" ]
  [ "${lines[4]}" = "exec_start: sh -c exit 3|pe2|<no value>|<no value>" ]
  [ "${lines[5]}" = "exec_die|pe2|<no value>|3" ]
  run docker events --since "$t0" --until "$(date +%s.%N)" --filter event=exec_start --format '{{.Actor.Attributes.execID}}'
  [[ $output =~ ^[0-9a-f]{64}$ ]]
  docker rm -f pe2
}
