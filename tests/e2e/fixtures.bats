#!/usr/bin/env bats
# The fixtures every later test builds on: the busybox and Debian images and
# the reference registry helper.

load ../helpers/berth

@test "busybox fixture tarball has a static busybox and its applets" {
  t=$(busybox_tar)
  run tar -tf "$t"
  [[ $output == *"./bin/busybox"* ]]
  [[ $output == *"./bin/sh"* ]]
  [[ $output == *"./etc/passwd"* ]]
}

@test "docker-registry helper serves the distribution API on 127.0.0.1" {
  start_registry
  [[ $REGISTRY_ADDR == 127.0.0.1:* ]]
  run curl -s -i "http://$REGISTRY_ADDR/v2/"
  stop_registry
  [[ $output == *"200 OK"* ]]
  [[ $output == *"Docker-Distribution-Api-Version: registry/2.0"* ]]
}

@test "the debootstrap'd Debian image runs under berth" {
  mkdir -p "$BERTH_FIXTURES"
  "$BERTH_SRC/tests/fixtures/make-debian-tar.sh" "$BATS_TEST_TMPDIR/debian.tar"
  start_berthd
  "$BERTH_BIN/berth" import -c 'CMD ["bash"]' "$BATS_TEST_TMPDIR/debian.tar" debian:bookworm >/dev/null
  run docker run --rm debian:bookworm sh -c 'cat /etc/debian_version; id -un'
  stop_berthd
  [ "$status" -eq 0 ]
  [[ ${lines[0]} =~ ^12\. ]]
  [ "${lines[1]}" = root ]
}
