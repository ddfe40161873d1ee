#!/usr/bin/env bats
# End-to-end: docker run/create --storage-opt size= (a project quota on the
# container's layer dir) and dockerd's errors where the data root's
# filesystem has no project quotas: the default root here (ext4 without
# prjquota) and an xfs loop device mounted without pquota. With pquota, a
# write past the size fails with EDQUOT/ENOSPC; that test needs a kernel
# built with XFS quota support (CONFIG_XFS_QUOTA), and its ext4 twin (mkfs
# -O quota,project, mount -o prjquota) one with CONFIG_QFMT_V2; each is
# skipped, quoting the kernel's refusal, without it.

bats_require_minimum_version 1.5.0
load ../helpers/berth

MSG="--storage-opt is supported only for overlay over xfs with 'pquota' mount option"

setup_file() {
  start_berthd
  import_busybox busybox:latest
}

teardown_file() {
  stop_berthd
  local d
  for d in /tmp/img-sopt.*; do
    [[ -d $d ]] || continue
    umount "$d/mnt" 2>/dev/null || true
    rm -rf "$d"
  done
}

# xfs_root [mount options]: a fresh 320 MB xfs on a loop device; prints the mount point.
xfs_root() { fs_root xfs "$@"; }

# fs_root xfs|ext4 [mount options]: a fresh 320 MB filesystem on a loop
# device (ext4 with the quota and project features); prints the mount point,
# or its dir (with mount.err) and fails.
fs_root() {
  local d fs=$1
  shift
  d=$(mktemp -d /tmp/img-sopt.XXXXXX)
  truncate -s 320M "$d/disk"
  if [[ $fs == xfs ]]; then mkfs.xfs -q "$d/disk"; else mkfs.ext4 -q -O quota,project "$d/disk"; fi
  mkdir "$d/mnt"
  if ! mount -o "loop${1:+,$1}" "$d/disk" "$d/mnt" 2>"$d/mount.err"; then
    echo "$d"
    return 1
  fi
  echo "$d/mnt"
}

@test "--storage-opt size on a data root without project quotas: dockerd's error, nothing created" {
  local before
  before=$(docker ps -aq | wc -l)
  run docker run --rm --storage-opt size=10m busybox true
  [ "$status" -eq 125 ]
  [[ $output == *"Error response from daemon: $MSG"* ]]
  run docker create --storage-opt size=abc busybox true
  [ "$status" -ne 0 ]
  [[ $output == *"$MSG"* ]]
  # other keys: dockerd's parse error
  run docker create --storage-opt foo=1 busybox true
  [ "$status" -ne 0 ]
  [[ $output == *"Unknown option foo"* ]]
  [ "$(docker ps -aq | wc -l)" = "$before" ]
  # the status code as dockerd's: 500
  run curl -s -o /dev/null -w '%{http_code}' --unix-socket "$BERTHD_SOCK" -H 'Content-Type: application/json' \
    -d '{"Image":"busybox","HostConfig":{"StorageOpt":{"size":"1m"}}}' http://x/v1.41/containers/create
  [ "$output" = 500 ]
}

@test "xfs without pquota as the data root: the same error" {
  local root
  root=$(xfs_root) || skip "cannot mount xfs on a loop device: $(cat "$root/mount.err")"
  start_berthd --data-root "$root/data"
  import_busybox busybox:latest
  run docker run --rm --storage-opt size=10m busybox true
  [ "$status" -eq 125 ]
  [[ $output == *"$MSG"* ]]
  # without --storage-opt the xfs root works
  run docker run --rm busybox echo ok
  [ "$output" = ok ]
  stop_one_berthd
  umount "$root"
}

# quota_limit_test ROOT: writing past --storage-opt size on the data root ROOT.
quota_limit_test() {
  local root=$1
  start_berthd --data-root "$root/data"
  import_busybox busybox:latest
  run docker run --rm --storage-opt size=20m busybox sh -c \
    'dd if=/dev/zero of=/f bs=1M count=10 && echo fits; dd if=/dev/zero of=/g bs=1M count=40 2>&1; echo rc=$?'
  [ "$status" -eq 0 ]
  [[ $output == *fits* ]]
  [[ $output == *"Disk quota exceeded"* || $output == *"No space left on device"* ]]
  [[ $output == *"rc=1"* ]]
  # another container without the option is not limited by it
  run docker run --rm busybox sh -c 'dd if=/dev/zero of=/g bs=1M count=40 2>/dev/null && echo big'
  [ "$output" = big ]
  stop_one_berthd
  umount "$root"
}

@test "xfs with pquota: writing past --storage-opt size fails inside the container" {
  local root
  if ! root=$(xfs_root pquota); then
    local why
    why=$(cat "$root/mount.err"; dmesg | grep -o 'XFS ([^)]*): quota support not available in this kernel' | tail -1)
    skip "xfs with pquota cannot be mounted here: $why"
  fi
  quota_limit_test "$root"
}

@test "ext4 with prjquota: writing past --storage-opt size fails inside the container" {
  local root
  if ! root=$(fs_root ext4 prjquota); then
    local why
    why=$(cat "$root/mount.err"; dmesg | grep -oE 'EXT4-fs \([^)]*\): The kernel was not built with CONFIG_QUOTA and CONFIG_QFMT_V2' | tail -1)
    skip "ext4 with prjquota cannot be mounted here: $why"
  fi
  quota_limit_test "$root"
}
