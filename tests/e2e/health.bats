#!/usr/bin/env bats
# Health checks through the real docker CLI. The probe runs inside the
# container through the OCI runtime's `exec` (berth-runtime by default;
# BERTH_HEALTH_RUNTIME=runc drives Debian's runc instead).

bats_require_minimum_version 1.5.0
load ../helpers/berth

setup_file() {
  if [[ ${BERTH_HEALTH_RUNTIME:-berth} == runc ]]; then
    start_berthd --add-runtime runc=/usr/sbin/runc --default-runtime runc
  else
    start_berthd
  fi
  import_busybox busybox:latest
}

teardown_file() {
  stop_berthd
}

wait_health() {  # name status
  local i
  for ((i = 0; i < 100; i++)); do
    [ "$(docker inspect -f '{{.State.Health.Status}}' "$1")" = "$2" ] && return 0
    sleep 0.1
  done
  docker inspect -f '{{json .State.Health}}' "$1" >&2
  return 1
}

@test "health: starting → healthy, the log holds the probe's output and exit code, ps shows it" {
  t0=$(date +%s.%N)
  docker run -d --name h1 --health-cmd 'test -f /tmp/ready && echo ready-ok' \
    --health-interval 200ms --health-retries 100 busybox sh -c 'sleep 1; touch /tmp/ready; exec sleep 300'
  run docker inspect -f '{{.State.Health.Status}}' h1
  [ "$output" = starting ]
  run docker ps --format '{{.Status}}' --filter name=h1
  [[ $output == "Up "*" (health: starting)" ]]
  wait_health h1 healthy
  run docker inspect -f '{{json .State.Health}}' h1
  last=$(jq -c '.Log[-1] | [.ExitCode, .Output]' <<<"$output")
  [ "$last" = '[0,"ready-ok\n"]' ]
  [ "$(jq '.FailingStreak' <<<"$output")" = 0 ]
  [ "$(jq '[.Log[] | select(.ExitCode == 1)] | length > 0' <<<"$output")" = true ]
  [ "$(jq '.Log | length <= 5' <<<"$output")" = true ]
  run docker ps --format '{{.Names}} {{.Status}}' --filter health=healthy
  [[ $output == "h1 Up "*" (healthy)" ]]
  run docker events --since "$t0" --until "$(date +%s.%N)" --filter container=h1 --filter event=health_status --format '{{.Action}}'
  [ "$output" = "health_status: healthy" ]
  docker rm -f h1
}

@test "health: failures count after the start period; retries reached → unhealthy; log keeps 5" {
  docker run -d --name h2 --health-cmd 'echo nope; exit 2' --health-interval 100ms \
    --health-retries 3 --health-start-period 2s busybox sleep 300
  sleep 0.45
  run docker inspect -f '{{.State.Health.Status}} {{.State.Health.FailingStreak}}' h2
  [ "$output" = "starting 0" ]   # inside the start period failures do not count
  wait_health h2 unhealthy
  sleep 1
  run docker inspect -f '{{json .State.Health}}' h2
  [ "$(jq '.Log | length' <<<"$output")" = 5 ]
  [ "$(jq -c '.Log[-1] | [.ExitCode, .Output]' <<<"$output")" = '[2,"nope\n"]' ]
  [ "$(jq '.FailingStreak >= 3' <<<"$output")" = true ]
  run docker ps --format '{{.Status}}' --filter health=unhealthy
  [[ $output == "Up "*" (unhealthy)" ]]
  run docker ps -q --filter health=healthy
  [ -z "$output" ]
  docker rm -f h2
}

@test "health: a probe that exceeds its timeout fails with Docker's message" {
  docker run -d --name h3 --health-cmd 'sleep 5' --health-interval 100ms --health-timeout 300ms \
    --health-retries 1 busybox sleep 300
  wait_health h3 unhealthy
  run docker inspect -f '{{(index .State.Health.Log 0).ExitCode}} {{(index .State.Health.Log 0).Output}}' h3
  [ "$output" = "-1 Health check exceeded timeout (300ms)" ]
  docker rm -f h3
}

@test "health: the image's HEALTHCHECK applies; --no-healthcheck disables it; CMD form" {
  docker run --name mkimg busybox true
  docker commit --change 'HEALTHCHECK --interval=100ms --retries=1 CMD ["/bin/false"]' mkimg hcimg \
    || { echo "commit failed: $(docker commit --change 'HEALTHCHECK CMD ["/bin/false"]' mkimg hcimg 2>&1)"; false; }
  docker run -d --name h4 hcimg sleep 300
  wait_health h4 unhealthy
  docker run -d --name h5 --no-healthcheck hcimg sleep 300
  run docker inspect -f '{{.State.Health}}' h5
  [ "$output" = "<nil>" ]
  docker rm -f h4 h5 mkimg
}

@test "health: CMD exec form via the API; no health check → ps filter health=none" {
  curl -sf --unix-socket "$BERTHD_SOCK" -H 'Content-Type: application/json' \
    -d '{"Image":"busybox","Cmd":["sleep","300"],"Healthcheck":{"Test":["CMD","/bin/sh","-c","echo exec-form"],"Interval":100000000,"Retries":1}}' \
    "http://d/containers/create?name=h6" >/dev/null
  docker start h6
  wait_health h6 healthy
  run docker inspect -f '{{(index .State.Health.Log 0).Output}}' h6
  [ "$output" = "exec-form" ]
  docker run -d --name plain busybox sleep 300
  run docker ps --format '{{.Names}}' --filter health=none
  [ "$output" = plain ]
  docker rm -f h6 plain
}

@test "health: invalid settings fail with Docker's messages" {
  run curl -s --unix-socket "$BERTHD_SOCK" -H 'Content-Type: application/json' \
    -d '{"Image":"busybox","Healthcheck":{"Test":["CMD","true"],"Interval":1000}}' http://d/containers/create
  [[ $output == *"Interval in Healthcheck cannot be less than 1ms"* ]]
  run curl -s --unix-socket "$BERTHD_SOCK" -H 'Content-Type: application/json' \
    -d '{"Image":"busybox","Healthcheck":{"Test":["CMD","true"],"Retries":-1}}' http://d/containers/create
  [[ $output == *"Retries in Healthcheck cannot be negative"* ]]
  run docker ps --filter health=bogus
  [ "$status" -ne 0 ]
  [[ $output == *"Unrecognised filter value for health: bogus"* ]]
}
