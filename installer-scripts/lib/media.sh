#!/usr/bin/env bash
# Finds the install media by its volume label (USB stick, CD or BMC virtual media alike), waits
# for it with a bounded udev-settle + poll loop instead of fixed sleeps, and mounts it read-only.
# shellcheck disable=SC2034 # globals set here are read by installer.sh and the other libraries
# shellcheck source=installer-scripts/lib/facts.sh
source "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/facts.sh"

MEDIA_TIMEOUT=${MI_MEDIA_TIMEOUT:-180}
MEDIA_DEV=''
MEDIA_DIR=''
MEDIA_DISKS=''
MEDIA_MOUNTED=0

# media_lookup VOLID: print the device carrying the label: udev's by-label link first, else a
# low-level blkid probe of each non-empty block device (never an empty nbd/sr device, whose
# reads only fill the console with I/O errors; no blkid cache that could be stale).
media_lookup() {
  local volid=$1 sys name size label
  if [[ -e /dev/disk/by-label/$volid ]]; then
    readlink -f -- "/dev/disk/by-label/$volid"
    return 0
  fi
  for sys in /sys/class/block/*; do
    name=${sys##*/}
    [[ $name != nbd* && $name != zram* && $name != ram* && -b /dev/$name ]] || continue
    size=$(<"$sys/size") || continue
    ((size > 0)) || continue
    label=$(blkid -p -o value -s LABEL -- "/dev/$name" 2>/dev/null) || continue
    if [[ $label == "$volid" ]]; then
      printf '/dev/%s\n' "$name"
      return 0
    fi
  done
  return 1
}

# media_wait VOLID: wait (at most MEDIA_TIMEOUT seconds) until the media shows up; sets MEDIA_DEV.
# Each round lets udev finish its queue (bounded), then looks; USB sticks may take a while.
media_wait() {
  local volid=$1 deadline=$((SECONDS + MEDIA_TIMEOUT)) next_note=$((SECONDS + 10))
  while :; do
    udevadm settle --timeout=5 >/dev/null 2>&1 || true
    if MEDIA_DEV=$(media_lookup "$volid"); then
      log "media: found label ${volid} on ${MEDIA_DEV}"
      return 0
    fi
    if ((SECONDS >= deadline)); then
      die "the install media (volume label ${volid}) did not appear within ${MEDIA_TIMEOUT}s; is the USB stick/CD still attached?"
    fi
    if ((SECONDS >= next_note)); then
      info "waiting for the install media (volume label ${volid})..."
      next_note=$((SECONDS + 10))
    fi
    sleep 1
  done
}

# media_whole_disk DEV: the kname of the disk holding DEV (DEV itself when it is a whole disk).
media_whole_disk() {
  local dev=$1 parent
  parent=$(lsblk -ndo PKNAME -- "$dev" 2>/dev/null | head -n1) || true
  parent=${parent//[[:space:]]/}
  if [[ -n $parent ]]; then printf '%s\n' "$parent"; else printf '%s\n' "${dev##*/}"; fi
}

# media_disks VOLID: every disk carrying the label (a hybrid ISO stick shows it on the disk and
# on its first partition); all of them are excluded from the target candidates. Uses lsblk's
# (udev) labels rather than a blkid scan, which would open every empty nbd device.
media_disks() {
  local volid=$1 line
  local -A seen=()
  seen[$(media_whole_disk "$MEDIA_DEV")]=1
  while IFS= read -r line; do
    disks_parse_pairs "$line"
    if [[ ${LSB[LABEL]:-} == "$volid" ]]; then
      seen[${LSB[PKNAME]:-${LSB[KNAME]}}]=1
    fi
  done < <(lsblk -P -o KNAME,PKNAME,LABEL 2>/dev/null || true)
  printf '%s\n' "${!seen[*]}"
}

# media_mount DIR: mount MEDIA_DEV read-only at DIR (a stale mount there is removed first).
media_mount() {
  local dir=$1
  mkdir -p -- "$dir"
  if mountpoint -q -- "$dir"; then
    info "removing a stale mount at ${dir}"
    run umount -- "$dir" || run umount -l -- "$dir"
  fi
  run mount -t iso9660 -o ro -- "$MEDIA_DEV" "$dir" || run mount -o ro -- "$MEDIA_DEV" "$dir" ||
    die "cannot mount the install media ${MEDIA_DEV} at ${dir}"
  MEDIA_DIR=$dir
  MEDIA_MOUNTED=1
}

# media_read_tree DIR: read every file under DIR once (to /dev/null), so an unreadable sector of
# the media shows before anything is written (and the later copy comes from the page cache).
# Prints the file that failed; returns 1 then. An absent DIR reads as empty.
media_read_tree() {
  local dir=$1
  [[ -d $dir ]] || return 0
  (
    shopt -s globstar nullglob dotglob
    for f in "$dir"/**; do
      [[ -f $f ]] || continue
      cat -- "$f" >/dev/null 2>&1 || { printf '%s\n' "${f#"$dir"/}"; exit 1; }
    done
  )
}

# media_release: unmount the media; eject it when it is an optical drive.
media_release() {
  ((MEDIA_MOUNTED)) || return 0
  run umount -- "$MEDIA_DIR" || run umount -l -- "$MEDIA_DIR" || true
  MEDIA_MOUNTED=0
  if [[ ${MEDIA_DEV##*/} == sr* ]] && command -v eject >/dev/null 2>&1; then
    run eject -- "$MEDIA_DEV" || true
  fi
  return 0
}

# media_copy_log LOGFILE: when the boot stick carries a filesystem labelled $FACT_LOG_LABEL (made by
# `make-iso write --data-partition`), copy the log there as make-iso-installer-<time>.log. Only a
# partition on one of the media disks is used, never one on a target candidate. Best effort: a
# problem here is logged and never fails the install.
media_copy_log() {
  local logfile=$1 line dev='' dir=${MI_RUN_DIR:-/run/make-iso}/logpart name
  [[ -n $MEDIA_DISKS && -r $logfile ]] || return 0
  while IFS= read -r line; do
    disks_parse_pairs "$line"
    if [[ ${LSB[LABEL]:-} == "$FACT_LOG_LABEL" && " ${MEDIA_DISKS} " == *" ${LSB[PKNAME]:-} "* ]]; then
      dev=/dev/${LSB[KNAME]}
      break
    fi
  done < <(lsblk -P -o KNAME,PKNAME,LABEL 2>/dev/null || true)
  if [[ -z $dev ]]; then
    log "no ${FACT_LOG_LABEL} partition on the media disks (${MEDIA_DISKS}); the log stays in ${logfile}"
    return 0
  fi
  name="make-iso-installer-$(date -u +%Y%m%dT%H%M%SZ).log"
  mkdir -p -- "$dir" || return 0
  if mount -o rw -- "$dev" "$dir" 2>/dev/null; then
    if cp -- "$logfile" "$dir/$name" 2>/dev/null && sync; then
      info "log copied to ${dev} (${FACT_LOG_LABEL}) as ${name}"
    else
      info "could not copy the log to ${dev} (${FACT_LOG_LABEL})"
    fi
    umount -- "$dir" 2>/dev/null || umount -l -- "$dir" 2>/dev/null || true
  else
    info "could not mount the ${FACT_LOG_LABEL} partition ${dev}"
  fi
  return 0
}
