#!/usr/bin/env bash
# Checks the OS image on the media (sha256 of the .raw.gz; the raw size, sha256 and ext4 features
# from the build's probe, else from one decompression) before any disk is touched, streams it onto
# the chosen disk in the one decompression of the install (first MiB last, so a half-written disk never looks
# bootable), reads the written bytes back to compare, and finds partitions by label.
# shellcheck disable=SC2034 # globals set here are read by installer.sh and the other libraries

IMAGE_PATH=''
IMAGE_RAW_BYTES=0
IMAGE_RAW_SHA256=''
WRITE_STARTED=0
PART_ROOTFS='' PART_ESP='' PART_PERSISTENT=''

# image_check_sha256 MEDIA_DIR: the .raw.gz exists and hashes to MI_OS_IMAGE_SHA256 (and to its
# .sha256sum file on the media, when there is one).
image_check_sha256() {
  local media=$1 actual sidecar
  IMAGE_PATH=$media/$MI_OS_IMAGE
  [[ -f $IMAGE_PATH ]] || die "the OS image ${MI_OS_IMAGE} is not on the install media"
  actual=$(sha256sum -- "$IMAGE_PATH") || die "cannot read the OS image ${MI_OS_IMAGE} from the media"
  actual=${actual%% *}
  if [[ $actual != "$MI_OS_IMAGE_SHA256" ]]; then
    die "the OS image ${MI_OS_IMAGE} is damaged: sha256 ${actual}, expected ${MI_OS_IMAGE_SHA256}; nothing was written; rebuild or rewrite the install media"
  fi
  if [[ -f $IMAGE_PATH.sha256sum ]]; then
    read -r sidecar _ <"$IMAGE_PATH.sha256sum" || true
    [[ ${sidecar:-} == "$actual" ]] || die "the OS image ${MI_OS_IMAGE} does not match ${MI_OS_IMAGE}.sha256sum on the media"
  fi
  log "image: ${IMAGE_PATH} sha256 ${actual} ok"
}

# image_dd_bytes FILE: the byte count from dd's final statistics (LC_ALL=C) in FILE.
image_dd_bytes() {
  local line bytes=''
  while IFS= read -r line; do
    [[ $line =~ ^([0-9]+)\ bytes ]] && bytes=${BASH_REMATCH[1]}
  done < <(tr '\r' '\n' <"$1")
  [[ -n $bytes ]] || return 1
  printf '%s\n' "$bytes"
}

# image_probed: install.env carries the build's whole-image facts (raw size, sha256, ext4
# features). The .raw.gz sha256 checked first proves the media holds the bytes the build inflated.
image_probed() { [[ -n ${MI_IMAGE_RAW_SHA256:-} && -n ${MI_IMAGE_RAW_BYTES:-} ]]; }

# image_measure RUN_DIR: the raw size and sha256: the build's, or (an ISO built without the probe)
# from one decompression here, which also proves the gzip stream is whole before any disk is touched.
image_measure() {
  local run_dir=$1 out
  if image_probed; then
    IMAGE_RAW_BYTES=$MI_IMAGE_RAW_BYTES IMAGE_RAW_SHA256=$MI_IMAGE_RAW_SHA256
    log "image: raw size ${IMAGE_RAW_BYTES} bytes, sha256 ${IMAGE_RAW_SHA256} (the build's probe; not inflated here)"
    return 0
  fi
  out=$(gzip -dc -- "$IMAGE_PATH" | dd bs=4M iflag=fullblock 2>"$run_dir/measure.err" | sha256sum) ||
    die "the OS image ${MI_OS_IMAGE} does not decompress (gzip); nothing was written"
  IMAGE_RAW_SHA256=${out%% *}
  IMAGE_RAW_BYTES=$(image_dd_bytes "$run_dir/measure.err") || die "cannot tell the size of the OS image"
  log "image: raw size ${IMAGE_RAW_BYTES} bytes, sha256 ${IMAGE_RAW_SHA256}"
}

# ext4 superblock feature bits (s_feature_incompat, s_feature_ro_compat) by bit number, as
# mkfs.ext4 -O names: '-' a transient state bit that needs no support, '!name' a feature Linux
# never mounts, '?' a bit this list does not know. Compat bits never stop a mount and are not read.
IMAGE_EXT4_INCOMPAT=() IMAGE_EXT4_RO_COMPAT=()
read -r -a IMAGE_EXT4_INCOMPAT <<<'!compression filetype - journal_dev meta_bg ? extent 64bit mmp flex_bg ea_inode ? !dirdata metadata_csum_seed large_dir inline_data encrypt casefold'
read -r -a IMAGE_EXT4_RO_COMPAT <<<'sparse_super large_file ? huge_file uninit_bg dir_nlink extra_isize ? quota bigalloc metadata_csum ? read-only project ? verity -'

# image_le FILE OFFSET COUNT: the little-endian unsigned number of COUNT bytes at OFFSET of FILE
# (a NUL byte reads as an empty character, i.e. 0).
image_le() {
  local c n v=0 shift=0
  while IFS= read -r -d '' -n 1 c; do
    printf -v n '%d' "'${c}"
    v=$((v | (n & 255) << shift))
    shift=$((shift + 8))
  done < <(dd if="$1" bs=1 skip="$2" count="$3" status=none)
  printf '%s\n' "$v"
}

# image_ext4_names WORD NAME...: the names (comma-separated) of the bits set in WORD, NAME being
# the name of bit 0, 1, ...; an unknown bit prints as ?0xBIT, a never-supported one as !name.
image_ext4_names() {
  local word=$1 bit name
  shift
  local -a names=("$@") out=()
  for ((bit = 0; bit < 32; bit++)); do
    (((word >> bit) & 1)) || continue
    name=${names[bit]:-?}
    [[ $name != - ]] || continue
    [[ $name != '?' ]] || printf -v name '?0x%x' $((1 << bit))
    out+=("$name")
  done
  local IFS=,
  printf '%s\n' "${out[*]}"
}

# image_partition_starts RUN_DIR: "START_BYTE NAME" lines, ascending, for the partitions of the
# image, read from its partition table (the first MiB, in a sparse file of the image's size so
# sfdisk trusts the primary GPT).
image_partition_starts() {
  local head=$1/image-head line start name i j
  local -a starts=() names=()
  # head closes the pipe after 1 MiB: gzip's SIGPIPE is expected
  gzip -dc -- "$IMAGE_PATH" 2>/dev/null | head -c 1048576 >"$head" || true
  truncate -s "$IMAGE_RAW_BYTES" -- "$head"
  while IFS= read -r line; do
    [[ $line =~ start=\ *([0-9]+), ]] || continue
    start=$((BASH_REMATCH[1] * 512)) name=''
    [[ $line =~ name=\"([^\"]*)\" ]] && name=${BASH_REMATCH[1]}
    # insertion sort: a table's order need not be the disk's
    for ((i = ${#starts[@]}; i > 0 && starts[i - 1] > start; i--)); do
      j=$((i - 1))
      starts[i]=${starts[j]} names[i]=${names[j]}
    done
    starts[i]=$start names[i]=${name:-partition at ${start}}
  done < <(sfdisk -d -- "$head" 2>/dev/null || true)
  rm -f -- "$head"
  for i in "${!starts[@]}"; do printf '%s %s\n' "${starts[i]}" "${names[i]}"; done
}

# image_ext4_list DIR: "START INCOMPAT RO_COMPAT NAME" per ext2/3/4 partition of the image: the
# build's (MI_IMAGE_EXT4), or read here from the superblocks in one decompression pass (DIR: scratch).
image_ext4_list() {
  local dir=$1 pos=0 off start name i
  local -a starts=() names=()
  if image_probed; then
    ((${#MI_IMAGE_EXT4[@]} == 0)) || printf '%s\n' "${MI_IMAGE_EXT4[@]}"
    return 0
  fi
  while read -r start name; do starts+=("$start") names+=("$name"); done < <(image_partition_starts "$dir")
  {
    for i in "${!starts[@]}"; do
      off=$((starts[i] + 1024))
      dd iflag=skip_bytes,count_bytes,fullblock bs=64K skip=$((off - pos)) count=1024 status=none of="$dir/sb.$i" 2>/dev/null || true
      pos=$((off + 1024))
    done
  } < <(gzip -dc -- "$IMAGE_PATH" 2>/dev/null)
  for i in "${!starts[@]}"; do
    [[ -s $dir/sb.$i ]] || continue
    (($(image_le "$dir/sb.$i" 56 2) == 0xEF53)) || continue
    printf '%s %s %s %s\n' "${starts[i]}" "$(image_le "$dir/sb.$i" 96 4)" "$(image_le "$dir/sb.$i" 100 4)" "${names[i]}"
  done
}

# image_check_filesystems RUN_DIR: before anything is written, prove that this kernel can mount
# every ext2/3/4 partition of the image read-write (the installer mounts the root and
# edge_persistent): name each one's incompat and ro_compat features (image_ext4_list), then make and
# mount a test ext4 with the same features (as the step 1 preflight does for its fixed list). An
# unknown or never-supported feature fails at once.
image_check_filesystems() {
  local run_dir=$1 dir=$1/image-fs start incompat ro_compat name feats why
  local -A tried=()
  mkdir -p -- "$dir"
  while read -r start incompat ro_compat name; do
    feats=$(image_ext4_names "$incompat" "${IMAGE_EXT4_INCOMPAT[@]}")
    feats+=,$(image_ext4_names "$ro_compat" "${IMAGE_EXT4_RO_COMPAT[@]}")
    feats=${feats#,} feats=${feats%,}
    log "image: ${name} (at byte ${start}) is ext2/3/4 with features ${feats}"
    if [[ $feats == *[?!]* ]]; then
      local f
      local -a all=() bad=()
      IFS=, read -r -a all <<<"$feats"
      for f in "${all[@]}"; do [[ $f != [?!]* ]] || bad+=("${f#!}"); done
      rm -rf -- "$dir"
      die "the OS image's ${name} file system uses ext4 features Linux cannot mount read-write (${bad[*]}); nothing was written; rebuild the image without them"
    fi
    [[ -z ${MI_TEST_NO_KERNEL_CHECK:-} && -z ${tried[$feats]:-} ]] || continue
    tried[$feats]=1
    [[ $feats != *meta_bg* ]] || feats+=,^resize_inode
    if ! why=$(req_try_mount ext4 "$dir/test.img" "$dir/mnt" mkfs.ext4 -F -q -O "$feats"); then
      rm -rf -- "$dir"
      die "this kernel cannot mount the OS image's ${name} file system (ext4 with ${feats}: ${why}); nothing was written; use a bootkit whose kernel supports these features"
    fi
    rm -f -- "$dir/test.img"
  done < <(image_ext4_list "$dir")
  rm -rf -- "$dir"
  return 0
}

# image_progress FILE: read dd's status=progress output (\r separated), keep it in the log, show a
# line on the console every 15 seconds, and leave dd's final statistics in FILE.
image_progress() {
  local file=$1 chunk last='' next=$((SECONDS + 15))
  while IFS= read -r -d $'\r' chunk || [[ -n $chunk ]]; do
    last=$chunk
    chunk=${chunk//$'\n'/ }
    log "dd: ${chunk}"
    if ((SECONDS >= next)); then
      info "writing: ${chunk}"
      next=$((SECONDS + 15))
    fi
  done
  printf '%s\n' "$last" >"$file"
}

# image_release_holders DISK: deactivate LVM volume groups on DISK (auto-activated by the live
# system when an earlier install left one) so the disk can be overwritten.
image_release_holders() {
  local disk=$1 vgs part
  command -v pvs >/dev/null 2>&1 || return 0
  for part in $(lsblk -lnpo PATH -- "$disk" 2>/dev/null); do
    vgs=$(pvs --noheadings -o vg_name -- "$part" 2>/dev/null | tr -d ' ') || continue
    [[ -n $vgs ]] && run vgchange -an -- "$vgs"
  done
  return 0
}

# image_write DISK RUN_DIR: clear DISK's signatures, then stream the image onto it with direct I/O
# in the install's one decompression (gzip checks the stream's CRC at its end), and write the
# first MiB (partition table) last, only once the whole stream was written and has the image's raw
# size. Step 6 reads the disk back against the raw sha256.
image_write() {
  local disk=$1 run_dir=$2 first=$2/first-mib stats=$2/write.stats bytes
  guard_write "$disk"
  image_release_holders "$disk"
  WRITE_STARTED=1
  run wipefs -a -- "$disk" || die "cannot clear the old signatures on ${disk} (is it in use?)"
  rm -f -- "$stats"
  log "+ gzip -dc ${IMAGE_PATH} | dd (first MiB to ${first}, the rest to ${disk} at 1 MiB)"
  if ! gzip -dc -- "$IMAGE_PATH" | {
    dd of="$first" bs=1M count=1 iflag=fullblock status=none &&
      image_write_rest "$disk" "$stats"
  }; then
    die "writing the OS image to ${disk} failed (see the log)"
  fi
  bytes=$(image_dd_bytes "$stats") || die "cannot tell how many bytes of the OS image were written"
  bytes=$((bytes + 1048576))
  ((bytes == IMAGE_RAW_BYTES)) ||
    die "the OS image inflated to ${bytes} bytes while writing, not ${IMAGE_RAW_BYTES}; ${disk} was erased and has no partition table; rewrite the install media"
  log "write: ${bytes} bytes written, the image's raw size"
  run dd if="$first" of="$disk" bs=1M count=1 oflag=direct conv=fsync,notrunc status=none ||
    die "writing the first MiB of the OS image to ${disk} failed"
  run sync
}

# image_write_rest DISK STATS: stdin from 1 MiB on onto DISK at 1 MiB; dd's final statistics in STATS
# (dd writes nothing on stdout: its stderr goes down the pipe to the progress reader, which has
# finished when this returns).
image_write_rest() {
  dd of="$1" bs=4M seek=1048576 oflag=seek_bytes,direct conv=fsync,notrunc iflag=fullblock status=progress 2>&1 |
    image_progress "$2"
}

# image_reread DISK: make the kernel (and udev, where it runs) see the new partition table.
image_reread() {
  local disk=$1
  run blockdev --rereadpt "$disk" || run partx -u -- "$disk" || true
  # Without udev (tests) the partition nodes may be missing: add whatever the kernel lacks.
  partx -a -- "$disk" >/dev/null 2>&1 || true
  udevadm settle --timeout=30 >/dev/null 2>&1 || true
}

# image_verify DISK: the first IMAGE_RAW_BYTES of DISK hash to the raw image's sha256.
image_verify() {
  local disk=$1 actual
  run blockdev --flushbufs "$disk" || true
  actual=$(head -c "$IMAGE_RAW_BYTES" -- "$disk" | sha256sum) || die "cannot read ${disk} back"
  actual=${actual%% *}
  [[ $actual == "$IMAGE_RAW_SHA256" ]] ||
    die "verification failed: the first ${IMAGE_RAW_BYTES} bytes of ${disk} hash to ${actual}, the image to ${IMAGE_RAW_SHA256}"
  log "verify: ${disk} matches the image (sha256 ${actual})"
}

# image_grow_gpt DISK: move the GPT backup header to the end of a disk larger than the image, so
# the free space after the image can be used (LVM, growing partitions).
image_grow_gpt() {
  local disk=$1 pttype size
  pttype=$(blkid -p -o value -s PTTYPE -- "$disk" 2>/dev/null) || true
  [[ $pttype == gpt ]] || return 0
  size=$(blockdev --getsize64 "$disk")
  ((size > IMAGE_RAW_BYTES)) || return 0
  guard_write "$disk"
  run sfdisk --relocate gpt-bak-std -- "$disk" || die "cannot move the GPT backup header to the end of ${disk}"
}

# image_partition_records DISK: print one PATH="" LABEL="" PARTLABEL="" PARTTYPE="" line per
# partition of DISK only, probing each with blkid -p (works with or without udev).
image_partition_records() {
  local disk=$1 path type line key value label partlabel parttype
  while read -r path type; do
    [[ $type == part ]] || continue
    label='' partlabel='' parttype=''
    while IFS= read -r line; do
      key=${line%%=*} value=${line#*=}
      case $key in
        LABEL) label=$value ;;
        PART_ENTRY_NAME) partlabel=$value ;;
        PART_ENTRY_TYPE) parttype=$value ;;
      esac
    done < <(blkid -p -o export -- "$path" 2>/dev/null || true)
    printf 'PATH="%s" LABEL="%s" PARTLABEL="%s" PARTTYPE="%s"\n' "$(image_escape "$path")" \
      "$(image_escape "$label")" "$(image_escape "$partlabel")" "$(image_escape "$parttype")"
  done < <(lsblk -lnpo PATH,TYPE -- "$disk")
}

# image_escape TEXT: escape " and \ the way lsblk -P does, so disks_parse_pairs can read it.
image_escape() {
  local t=${1//\\/\\x5c}
  printf '%s' "${t//\"/\\x22}"
}

# image_find_partitions DISK RUN_DIR: set PART_ROOTFS, PART_ESP (required) and PART_PERSISTENT.
image_find_partitions() {
  local disk=$1 records=$2/partitions.txt
  image_partition_records "$disk" >"$records"
  log "partitions of ${disk}: $(tr '\n' ' ' <"$records")"
  PART_ROOTFS=$(disks_part_by_label "$records" rootfs) || PART_ROOTFS=$(disks_part_by_label "$records" rootfs_a) ||
    die "the installed image has no single partition labelled rootfs on ${disk}"
  PART_ESP=$(disks_part_by_label "$records" esp) || die "the installed image has no single EFI system partition (esp) on ${disk}"
  PART_PERSISTENT=$(disks_part_by_label "$records" edge_persistent) || PART_PERSISTENT=''
  info "partitions: rootfs=${PART_ROOTFS} esp=${PART_ESP} edge_persistent=${PART_PERSISTENT:-none}"
}

# image_bios_note DISK RUN_DIR: say whether the written image can boot by BIOS (boot code in the
# MBR or a BIOS boot partition); the installer never adds a BIOS loader the image lacks.
image_bios_note() {
  local disk=$1 records=$2/partitions.txt code
  code=$(head -c 440 -- "$disk" | tr -d '\0' | wc -c)
  if ((code > 0)) || grep -qi 21686148-6449-6e6f-744e-656564454649 "$records" 2>/dev/null; then
    info "BIOS: the image carries BIOS boot code; ${disk} is bootable by BIOS as written"
  else
    info "BIOS: the image has no BIOS boot code; ${disk} boots by UEFI only (select UEFI boot in the firmware)"
  fi
}

# persistent_new_size START SIZE DISK_SECTORS RESERVE_MIB WANT_GIB: the new size in 512-byte
# sectors of the last partition (edge_persistent) starting at START with SIZE sectors on a GPT disk
# of DISK_SECTORS, leaving RESERVE_MIB (+1 MiB slack) free at the end for the LVM partition. WANT_GIB
# empty: as large as fits (ends on a MiB boundary); N: exactly N GiB. Prints "keep" when it cannot
# grow; fails (status 1, reason on stdout) when N GiB is smaller than the image's or does not fit.
persistent_new_size() {
  local start=$1 size=$2 total=$3 reserve=$4 want=$5 last limit end max
  last=$((total - 34))
  limit=$((last - (reserve > 0 ? reserve + 1 : 0) * 2048))
  end=$(((limit + 1) / 2048 * 2048 - 1))
  max=$((end - start + 1))
  if [[ -z $want ]]; then
    if ((max > size)); then printf '%s\n' "$max"; else printf 'keep\n'; fi
    return 0
  fi
  local sectors=$((want * 2097152))
  if ((sectors < size)); then
    printf 'persistent.sizeGiB %s GiB is smaller than the image'"'"'s edge_persistent (%s MiB)\n' "$want" $((size / 2048))
    return 1
  fi
  if ((sectors > max)); then
    printf 'persistent.sizeGiB %s GiB does not fit on the disk (at most %s MiB)\n' "$want" $((max / 2048))
    return 1
  fi
  if ((sectors == size)); then printf 'keep\n'; else printf '%s\n' "$sectors"; fi
}

# image_grow_persistent DISK RUN_DIR: grow edge_persistent (when it is the last partition) and
# its ext4 file system, by MI_PERSISTENT_SIZE_GIB (empty: to the end of the disk, minus the LVM
# size; 0: keep the image's size).
image_grow_persistent() {
  local disk=$1 part name dname num start size total other new rc=0
  [[ $MI_PERSISTENT_SIZE_GIB != 0 ]] || { info "edge_persistent: kept at the image's size"; return 0; }
  part=$PART_PERSISTENT
  [[ -n $part ]] || { info "edge_persistent: none in the image, nothing to grow"; return 0; }
  name=${part##*/} dname=${disk##*/}
  num=$(<"/sys/class/block/${name}/partition") start=$(<"/sys/class/block/${name}/start")
  size=$(<"/sys/class/block/${name}/size") total=$(<"/sys/class/block/${dname}/size")
  for other in /sys/class/block/"$dname"/"$dname"*; do
    [[ -r $other/start ]] || continue
    if (($(<"$other/start") > start)); then
      info "edge_persistent is not the last partition: kept at the image's size"
      return 0
    fi
  done
  new=$(persistent_new_size "$start" "$size" "$total" $((MI_LVM_SIZE_GIB * 1024)) "$MI_PERSISTENT_SIZE_GIB") || die "$new"
  [[ $new != keep ]] || { info "edge_persistent: already fills the disk"; return 0; }
  guard_write "$disk"
  printf ',%s\n' "$new" | run sfdisk -q --no-reread --no-tell-kernel -N "$num" -- "$disk" ||
    die "cannot grow the edge_persistent partition on ${disk}"
  image_reread "$disk"
  guard_write "$part"
  run e2fsck -f -p -- "$part" || rc=$?
  ((rc <= 1)) || die "e2fsck found errors on edge_persistent ${part} (status ${rc})"
  run resize2fs -- "$part" || die "cannot grow the file system on edge_persistent ${part}"
  info "edge_persistent: grown from $((size / 2048)) MiB to $((new / 2048)) MiB"
}
