#!/usr/bin/env bash
# What the install needs on the node, read from requirements.tsv (the one declaration the build
# checks too; see docs/requirements.md) and checked at step 1 before anything is written: every
# tool on PATH, every kernel module or filesystem, and a test mount of an ext4 made with the OS
# image's features (metadata_csum needs crc32c) and of a vfat, from loop files in the run dir.
# shellcheck disable=SC2034 # globals set here are read by installer.sh and the tests

MI_REQUIREMENTS_FILE=${MI_REQUIREMENTS_FILE:-$(dirname -- "${BASH_SOURCE[0]}")/../requirements.tsv}
MI_PROC_FILESYSTEMS=${MI_PROC_FILESYSTEMS:-/proc/filesystems}
# mkfs.ext4 features of the OS image's root filesystem (mounting it needs the same support)
REQ_EXT4_FEATURES=has_journal,extent,huge_file,flex_bg,metadata_csum,64bit,dir_nlink,extra_isize
REQ_KIND=() REQ_NAME=() REQ_WHEN=() REQ_MODULES=() REQ_RPM=() REQ_DEB=()
REQ_MISSING=()

# req_load FILE: read the tsv rows (comments and the header skipped) into the REQ_* arrays.
req_load() {
  local file=$1 kind name when modules rpm deb used
  [[ -r $file ]] || die "the requirements list ${file} is missing from the installer"
  REQ_KIND=() REQ_NAME=() REQ_WHEN=() REQ_MODULES=() REQ_RPM=() REQ_DEB=()
  while IFS=$'\t' read -r kind name when modules rpm deb used; do
    [[ -z $kind || $kind == '#'* || $kind == kind ]] && continue
    [[ -n $used ]] || die "the requirements list ${file} has a malformed row for ${name}"
    REQ_KIND+=("$kind") REQ_NAME+=("$name") REQ_WHEN+=("$when") REQ_MODULES+=("$modules")
    REQ_RPM+=("$rpm") REQ_DEB+=("$deb")
  done <"$file"
  return 0
}

# req_dump: the loaded rows, one "kind name when modules rpm deb" line each (the parity test).
req_dump() {
  local i
  for i in "${!REQ_KIND[@]}"; do
    printf '%s %s %s %s %s %s\n' "${REQ_KIND[i]}" "${REQ_NAME[i]}" "${REQ_WHEN[i]}" "${REQ_MODULES[i]}" \
      "${REQ_RPM[i]}" "${REQ_DEB[i]}"
  done
}

# req_applies WHEN: whether rows marked WHEN are needed on this run.
req_applies() {
  case $1 in
    always) return 0 ;;
    lvm) ((${MI_LVM_SIZE_GIB:-0} > 0)) ;;
    uefi) [[ -d ${MI_SYS_FIRMWARE_EFI:-/sys/firmware/efi} && -z ${MI_TEST_NO_BOOTENTRY:-} ]] ;;
    *) return 1 ;;
  esac
}

# req_item I: "sfdisk (util-linux / fdisk)": row I and its RPM and Debian packages.
req_item() {
  local i=$1 what=${REQ_NAME[$1]} pk=${REQ_RPM[$1]}
  [[ ${REQ_RPM[i]} == "${REQ_DEB[i]}" ]] || pk="${REQ_RPM[i]} / ${REQ_DEB[i]}"
  case ${REQ_KIND[i]} in
    fs) what="filesystem ${what}" ;;
    module) what="module ${what}" ;;
  esac
  printf '%s (%s)' "$what" "$pk"
}

# req_has_fs FS: the kernel knows filesystem FS now.
req_has_fs() {
  local line
  while IFS= read -r line; do
    [[ ${line##*[[:space:]]} == "$1" ]] && return 0
  done <"$MI_PROC_FILESYSTEMS"
  return 1
}

# req_has_kernel I: row I's module (any alternative) exists; a filesystem is loaded and listed.
req_has_kernel() {
  local i=$1 m
  local -a alts
  IFS='|' read -r -a alts <<<"${REQ_MODULES[i]}"
  if [[ ${REQ_KIND[i]} == fs ]]; then
    req_has_fs "${REQ_NAME[i]}" && return 0
    for m in "${alts[@]}"; do modprobe -q -- "$m" >/dev/null 2>&1 || true; done
    req_has_fs "${REQ_NAME[i]}"
    return
  fi
  for m in "${alts[@]}"; do
    modprobe -n -q -- "$m" >/dev/null 2>&1 && return 0
  done
  return 1
}

# req_check_rows: fill REQ_MISSING with every applicable tool (and, unless the kernel check is
# skipped, module or filesystem) the node lacks.
req_check_rows() {
  local i
  REQ_MISSING=()
  for i in "${!REQ_KIND[@]}"; do
    req_applies "${REQ_WHEN[i]}" || continue
    if [[ ${REQ_KIND[i]} == tool ]]; then
      command -v -- "${REQ_NAME[i]}" >/dev/null 2>&1 || REQ_MISSING+=("$(req_item "$i")")
    elif [[ -z ${MI_TEST_NO_KERNEL_CHECK:-} ]]; then
      req_has_kernel "$i" || REQ_MISSING+=("$(req_item "$i")")
    fi
  done
  return 0
}

# req_try_mount TYPE FILE DIR MKFS...: make a filesystem in FILE with MKFS, mount it at DIR,
# write a file, unmount. Prints the first failing command's output on failure.
req_try_mount() {
  local type=$1 file=$2 dir=$3 out
  shift 3
  if ! out=$(truncate -s 32M -- "$file" 2>&1 && "$@" "$file" 2>&1); then
    printf 'mkfs failed: %s' "${out//$'\n'/ }"
    return 1
  fi
  mkdir -p -- "$dir"
  if ! out=$(mount -t "$type" -o loop -- "$file" "$dir" 2>&1); then
    printf 'mount failed: %s' "${out//$'\n'/ }"
    return 1
  fi
  out=''
  : >"$dir/make-iso-test" || out='cannot write to it'
  umount -- "$dir" >/dev/null 2>&1 || out="${out:-cannot unmount it}"
  [[ -z $out ]] || printf '%s' "$out"
  [[ -z $out ]]
}

# req_test_mounts DIR: test-mount an ext4 with the OS image's features and a vfat in DIR (a
# tmpfs such as /run); adds what fails to REQ_MISSING. Files are removed either way.
req_test_mounts() {
  local dir=$1 why
  [[ -z ${MI_TEST_NO_KERNEL_CHECK:-} ]] || return 0
  mkdir -p -- "$dir"
  if ! why=$(req_try_mount ext4 "$dir/ext4.img" "$dir/ext4" mkfs.ext4 -F -q -O "$REQ_EXT4_FEATURES"); then
    REQ_MISSING+=("a test ext4 with ${REQ_EXT4_FEATURES} does not mount (${why}; the kernel needs ext4 and crc32c)")
  fi
  if ! why=$(req_try_mount vfat "$dir/vfat.img" "$dir/vfat" mkfs.vfat); then
    REQ_MISSING+=("a test vfat does not mount (${why}; the kernel needs vfat)")
  fi
  rm -rf -- "$dir"
  return 0
}

# req_preflight RUN_DIR: every requirement of this run, checked before anything is written; dies
# naming every missing item and its packages (RPM / Debian) at once.
req_preflight() {
  local run_dir=$1 m
  req_load "$MI_REQUIREMENTS_FILE"
  req_check_rows
  # the test mounts need mkfs and mount: only when those are present
  ((${#REQ_MISSING[@]})) || req_test_mounts "$run_dir/fs-check"
  ((${#REQ_MISSING[@]} == 0)) && return 0
  for m in "${REQ_MISSING[@]}"; do info "missing on this system: ${m}"; done
  die "the live system lacks what the install needs: $(req_join '; ' "${REQ_MISSING[@]}")"
}

# req_join SEP ITEMS...: ITEMS joined by SEP.
req_join() {
  local sep=$1 out=$2 m
  shift 2
  for m in "$@"; do out+="${sep}${m}"; done
  printf '%s' "$out"
}
