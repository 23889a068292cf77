#!/usr/bin/env bash
# Safety guards for every destructive step: nothing is written in plan mode, nothing but the chosen
# disk (or its partitions) is ever written, and under the test seams only a file-backed loop
# device that the test created can be the target, so a test can never reach a real disk.
# shellcheck disable=SC2034 # globals set here are read by installer.sh and the other libraries

PLAN_MODE=0
TARGET_DISK=''

# test_seams_in_use: any non-empty variable named MI_TEST_* is set (every seam carries that
# prefix, so a new seam can never escape the guard).
test_seams_in_use() {
  local name
  for name in $(compgen -v MI_TEST_ || true); do
    [[ -n ${!name:-} ]] && return 0
  done
  return 1
}

# guard_test_target DEV: DEV must be a loop device backed by a regular file (never a real disk).
guard_test_target() {
  local dev=$1 name backing
  [[ $dev =~ ^/dev/loop[0-9]+$ ]] || die "test seam: MI_TEST_TARGET must be a /dev/loopN device (got '${dev}')"
  name=${dev#/dev/}
  [[ -r /sys/block/$name/loop/backing_file ]] || die "test seam: ${dev} is not an attached loop device"
  backing=$(<"/sys/block/$name/loop/backing_file")
  [[ -f $backing && ! -b $backing ]] || die "test seam: ${dev} is not backed by a regular file (${backing})"
  return 0
}

# guard_test_seams: with any test seam set outside plan mode, the target must be a test loop device.
guard_test_seams() {
  test_seams_in_use || return 0
  if [[ -n ${MI_TEST_TARGET:-} ]]; then
    guard_test_target "$MI_TEST_TARGET"
  elif ((PLAN_MODE == 0)); then
    die "test seam: MI_TEST_* variables are set but MI_TEST_TARGET is not; refusing to choose a real disk"
  fi
  return 0
}

# guard_write DEV: die unless DEV may be written now: not plan mode, DEV is the chosen disk or one
# of its partitions, and (under test seams) the chosen disk is a test loop device.
guard_write() {
  local dev=$1 disk_name parent
  ((PLAN_MODE == 0)) || die "internal error: a write to ${dev} was attempted in plan mode"
  [[ -n $TARGET_DISK ]] || die "internal error: a write to ${dev} was attempted before a disk was chosen"
  disk_name=${TARGET_DISK##*/}
  if [[ $dev != "$TARGET_DISK" ]]; then
    parent=$(lsblk -ndo PKNAME -- "$dev" 2>/dev/null | head -n1) || true
    parent=${parent//[[:space:]]/}
    [[ $parent == "$disk_name" ]] || die "internal error: refusing to write ${dev}, which is not on the chosen disk ${TARGET_DISK}"
  fi
  if test_seams_in_use; then guard_test_target "$TARGET_DISK"; fi
  return 0
}
