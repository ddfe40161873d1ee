#!/usr/bin/env bats
# End-to-end: the berth CLI's image and system commands (commit, history,
# events, system df, system prune, search, and their management-command
# aliases) against berthd; results are checked through the API / docker CLI.

bats_require_minimum_version 1.5.0
load ../helpers/berth

setup_file() {
  start_berthd
  import_busybox
}

teardown_file() {
  stop_berthd
}

berth() { "$BERTH_BIN/berth" "$@"; }

@test "berth commit: prints the new image id; the image's layer has the container's file, author, message and changes" {
  docker run --network none --name cm1 busybox sh -c 'echo hi > /hello'
  run berth commit -a 'Ann <ann@x>' -m 'first commit' -c 'ENV A=1' -c 'CMD ["cat","/hello"]' cm1 committed:v1
  [ "$status" -eq 0 ]
  [[ $output =~ ^sha256:[0-9a-f]{64}$ ]]
  id=$output
  [ "$(docker image inspect -f '{{.Id}}' committed:v1)" = "$id" ]
  [ "$(docker image inspect -f '{{.Author}}|{{.Comment}}|{{json .Config.Cmd}}' committed:v1)" = 'Ann <ann@x>|first commit|["cat","/hello"]' ]
  docker image inspect -f '{{json .Config.Env}}' committed:v1 | grep -q '"A=1"'
  run docker run --rm --network none committed:v1
  [ "$output" = hi ]
  # Without a reference: a dangling image, listed by id only.
  run berth container commit cm1
  [ "$status" -eq 0 ]
  [[ $output =~ ^sha256:[0-9a-f]{64}$ ]]
  [ "$(docker image inspect -f '{{json .RepoTags}}' "$output")" = '[]' ]
}

@test "berth commit: --pause=false leaves a running container running; errors and exit codes" {
  docker run -d --network none --name cm2 busybox sh -c 'echo x > /y; sleep 300'
  run berth commit --pause=false cm2 committed:running
  [ "$status" -eq 0 ]
  [ "$(docker inspect -f '{{.State.Status}}' cm2)" = running ]
  run berth commit -p cm2 committed:paused
  [ "$status" -eq 0 ]
  [ "$(docker inspect -f '{{.State.Status}}' cm2)" = running ]
  run docker run --rm --network none committed:running cat /y
  [ "$output" = x ]
  run berth commit nosuch
  [ "$status" -eq 1 ]
  [ "$output" = "Error response from daemon: No such container: nosuch" ]
  run berth commit cm2 BAD
  [ "$status" -eq 1 ]
  [[ $output == "invalid reference format"* ]]
  run berth commit
  [ "$status" -eq 1 ]
  [[ $output == *"'berth commit' requires at least 1 and at most 2 arguments"* ]]
  run berth commit -c 'BOGUS x' cm2
  [ "$status" -eq 1 ]
  docker rm -f cm2 >/dev/null
}

@test "berth history: docker's table, -q, --no-trunc, -H=false, --format, image history alias" {
  docker run --network none --name hs1 busybox sh -c 'echo hi > /hello'
  id=$(berth commit -m 'a comment' hs1 hist:v1)
  run berth history hist:v1
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 3 ]
  [[ ${lines[0]} =~ ^IMAGE\ +CREATED\ +CREATED\ BY\ +SIZE\ +COMMENT$ ]]
  [[ ${lines[1]} =~ ^${id:7:12}\ +(Less\ than\ a\ second|[0-9]+\ seconds?|About\ a\ minute)\ ago\ +sh\ -c\ echo\ hi\ \>\ /hello\ +3B\ +a\ comment$ ]]
  [[ ${lines[2]} =~ ^\<missing\>\ +.*\ ago\ +[0-9.]+MB\ +Imported\ from\ -$ ]]
  run berth history -q hist:v1
  [ "$output" = "${id:7:12}"$'\n<missing>' ]
  run berth history -q --no-trunc hist:v1
  [ "${lines[0]}" = "$id" ]
  run berth history -H=false --format '{{.CreatedAt}}|{{.Size}}' hist:v1
  [[ ${lines[0]} =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}(Z|[+-][0-9]{2}:[0-9]{2})\|3$ ]]
  run berth history --format json hist:v1
  [[ ${lines[0]} == '{"Comment":"a comment","CreatedAt":"'*'","CreatedBy":"sh -c echo hi \u003e /hello","CreatedSince":"'*' ago","ID":"'"${id:7:12}"'","Size":"3B"}' ]]
  # CREATED BY is cut to 45 characters with an ellipsis unless --no-trunc.
  docker run --network none --name hs2 busybox sh -c 'echo 0123456789012345678901234567890123456789 > /long'
  berth commit hs2 hist:long >/dev/null
  run berth history --format '{{.CreatedBy}}' hist:long
  [ "${lines[0]}" = "sh -c echo 012345678901234567890123456789012…" ]
  run berth history --no-trunc --format '{{.CreatedBy}}' hist:long
  [ "${lines[0]}" = "sh -c echo 0123456789012345678901234567890123456789 > /long" ]
  [ "$(berth image history hist:v1 | tail -n +2 | sed -E 's/  +/ /g' | cut -d' ' -f1)" = "$(berth history hist:v1 | tail -n +2 | sed -E 's/  +/ /g' | cut -d' ' -f1)" ]
  run berth history nosuch
  [ "$status" -eq 1 ]
  [ "$output" = "Error response from daemon: No such image: nosuch" ]
}

@test "berth events: a start's line in docker's text format, --format json, and streaming until interrupted" {
  since=$(date +%s)
  docker run --network none --name ev1 busybox true
  id=$(docker inspect -f '{{.Id}}' ev1)
  sleep 1
  until=$(date +%s)
  run berth events --since "$since" --until "$until" -f container=ev1
  [ "$status" -eq 0 ]
  printf '%s\n' "$output" | grep -Eq "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{9}(Z|[+-][0-9]{2}:[0-9]{2}) container start $id \(image=busybox, name=ev1\)$"
  [ "$(printf '%s\n' "$output" | awk '{print $3}' | tr '\n' ' ')" = "create attach start die " ]
  run berth system events --since "$since" --until "$until" -f container=ev1 -f event=start --format json
  [ "${#lines[@]}" -eq 1 ]
  [[ $output == '{"status":"start","id":"'$id'","from":"busybox","Type":"container","Action":"start",'* ]]
  run berth events --since "$since" --until "$until" -f container=ev1 --format '{{.Action}} {{.Actor.Attributes.name}}'
  [ "$output" = $'create ev1\nattach ev1\nstart ev1\ndie ev1' ]
  # Without --until the stream stays open and prints events as they happen.
  "$BERTH_BIN/berth" events -f container=ev2 -f event=start >"$BATS_TEST_TMPDIR/ev.out" 2>&1 &
  pid=$!
  sleep 0.5
  docker run --network none --name ev2 busybox true
  for _ in $(seq 50); do grep -q ' container start ' "$BATS_TEST_TMPDIR/ev.out" && break; sleep 0.1; done
  kill -0 "$pid"  # still streaming
  kill "$pid"
  wait "$pid" || true
  grep -q " container start $(docker inspect -f '{{.Id}}' ev2) (image=busybox, name=ev2)" "$BATS_TEST_TMPDIR/ev.out"
  run berth events --since bogus --until 1s
  [ "$status" -eq 1 ]
  run berth events -f bogus --until 1s
  [ "$status" -eq 125 ]
}

counts() { berth system df --format '{{.Type}}={{.TotalCount}}/{{.Active}}' | tr '\n' ' '; }

@test "berth system df: counts follow the daemon's containers, images and volumes" {
  run berth system df
  [ "$status" -eq 0 ]
  [[ ${lines[0]} =~ ^TYPE\ +TOTAL\ +ACTIVE\ +SIZE\ +RECLAIMABLE$ ]]
  [[ ${lines[1]} == "Images "* && ${lines[2]} == "Containers "* && ${lines[3]} == "Local Volumes "* && ${lines[4]} == "Build Cache "* ]]
  ni=$(docker images -aq | wc -l)
  nc=$(docker ps -aq | wc -l)
  nr=$(docker ps -q | wc -l)
  nv=$(docker volume ls -q | wc -l)
  [[ $(counts) == "Images=$ni/"*" Containers=$nc/$nr Local Volumes=$nv/0 Build Cache=0/0 " ]]
  docker volume create dfvol >/dev/null
  docker run -d --network none --name df1 -v dfvol:/v busybox sleep 300
  [[ $(counts) == "Images=$ni/"*" Containers=$((nc + 1))/$((nr + 1)) Local Volumes=$((nv + 1))/1 Build Cache=0/0 " ]]
  run berth system df --format json
  [[ ${lines[1]} == '{"Active":"'$((nr + 1))'","Reclaimable":"'*'","Size":"'*'","TotalCount":"'$((nc + 1))'","Type":"Containers"}' ]]
  # -v: per-object tables; df1 uses one local volume, dfvol has one link.
  run berth system df -v
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "Images space usage:" ]
  printf '%s\n' "$output" | grep -Eq "^$(docker inspect -f '{{.Id}}' df1 | cut -c1-12) +busybox +\"sleep 300\" +1 +0B +.* ago +Up .* +df1$"
  printf '%s\n' "$output" | grep -Eq '^dfvol +1 +0B$'
  printf '%s\n' "$output" | grep -Eq '^busybox +latest +[0-9a-f]{12} +.* ago +[0-9.]+MB +[0-9.]+[kM]?B +[0-9.]+[kM]?B +[1-9][0-9]*$'
  [ "${lines[-2]}" = "Build cache usage: 0B" ]
  [[ ${lines[-1]} =~ ^CACHE\ ID\ +CACHE\ TYPE\ +SIZE\ +CREATED\ +LAST\ USED\ +USAGE\ +SHARED$ ]]
  docker rm -f df1 >/dev/null
  docker volume rm dfvol >/dev/null
}

@test "berth system prune: the prompt, then stopped containers and dangling images go, the rest stays" {
  docker run --network none --name pr-stopped busybox sh -c 'echo a > /a'
  dangling=$(berth commit pr-stopped)
  docker run -d --network none --name pr-running busybox sleep 300
  docker volume create pr-vol >/dev/null
  stopped=$(docker inspect -f '{{.Id}}' pr-stopped)
  run bash -c "echo n | $BERTH_BIN/berth system prune"
  [ "$status" -eq 0 ]
  [ "$output" = "WARNING! This will remove:
  - all stopped containers
  - all networks not used by at least one container
  - all dangling images
  - unused build cache

Are you sure you want to continue? [y/N] " ]
  docker inspect pr-stopped >/dev/null
  docker image inspect "$dangling" >/dev/null
  run bash -c "echo y | $BERTH_BIN/berth system prune"
  [ "$status" -eq 0 ]
  [[ $output == *"Deleted Containers:"*"$stopped"*"Deleted Images:"*"deleted: $dangling"*"Total reclaimed space: "* ]]
  run docker inspect pr-stopped
  [ "$status" -ne 0 ]
  run docker image inspect "$dangling"
  [ "$status" -ne 0 ]
  docker inspect pr-running >/dev/null
  docker image inspect busybox >/dev/null
  docker volume inspect pr-vol >/dev/null
  run berth system prune -f --volumes --filter until=1h
  [ "$status" -eq 1 ]
  [ "$output" = 'ERROR: The "until" filter is not supported with "--volumes"' ]
  docker rm -f pr-running >/dev/null
  run berth system prune -f
  [ "$status" -eq 0 ]
  [ "${lines[-1]}" = "Total reclaimed space: 0B" ] || [[ ${lines[-1]} == "Total reclaimed space: "* ]]
  docker volume rm pr-vol >/dev/null
}

@test "berth search: a registry's catalog through the daemon, docker's table and limits" {
  command -v docker-registry >/dev/null || skip "docker-registry not installed"
  start_registry
  berth tag busybox "$REGISTRY_ADDR/busybox:latest"
  berth tag busybox "$REGISTRY_ADDR/team/tool:latest"
  berth push -q "$REGISTRY_ADDR/busybox:latest" >/dev/null
  berth push -q "$REGISTRY_ADDR/team/tool:latest" >/dev/null
  run berth search "$REGISTRY_ADDR/busy"
  [ "$status" -eq 0 ]
  [[ ${lines[0]} =~ ^NAME\ +DESCRIPTION\ +STARS\ +OFFICIAL$ ]]
  [ "${#lines[@]}" -eq 2 ]
  [[ ${lines[1]} =~ ^$REGISTRY_ADDR/busybox\ +0\ *$ ]]
  run berth search --limit 1 --format '{{.Name}}' "$REGISTRY_ADDR/"
  [ "${#lines[@]}" -eq 1 ]
  run berth search --format json "$REGISTRY_ADDR/tool"
  [ "$output" = '{"Description":"","IsOfficial":"false","Name":"'$REGISTRY_ADDR'/team/tool","StarCount":"0"}' ]
  run berth search --limit 500 "$REGISTRY_ADDR/"
  [ "$status" -eq 1 ]
  [ "$output" = "Error response from daemon: Limit 500 is outside the range of [1, 100]" ]
  stop_registry
}

@test "berth --help lists commit, history, events and search; image inspect is inspect --type image" {
  run berth --help
  for c in commit history events search; do [[ $output == *"  $c "* ]]; done
  run berth image inspect -f '{{.Os}}' busybox
  [ "$output" = linux ]
  run berth image inspect cm1
  [ "$status" -eq 1 ]
}
