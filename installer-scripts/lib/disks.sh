#!/usr/bin/env bash
# Chooses the target disk and names its partitions. The chooser is a pure function over captured
# `lsblk -P` output and /dev/disk/by-id|by-path link lines, so it is unit-tested without disks.
#
# Why `lsblk -P -b` and not `lsblk -J`: -J needs a JSON parser (no jq or python on the node, and
# gawk is not in every bootkit), while -P prints KEY="value" pairs in which lsblk escapes
# every ", \, $, ` and control character as \xNN. A bash regex can therefore split a line
# without eval and without any external tool, and printf %b turns \xNN back into bytes.
# -b gives sizes in bytes; without -d every partition/holder row carries PKNAME, which tells
# whether a disk already holds partitions, mounted filesystems or LVM/RAID/crypt devices.
# shellcheck disable=SC2034 # globals set here are read by installer.sh and the other libraries
# shellcheck source=installer-scripts/lib/facts.sh
source "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/facts.sh"

DISKS_LSBLK_COLUMNS=NAME,KNAME,PATH,TYPE,PKNAME,SIZE,RM,RO,ROTA,TRAN,SUBSYSTEMS,SERIAL,WWN,MODEL,FSTYPE,MOUNTPOINT
GIB=1073741824
# LSB: the fields of the last parsed KEY="value" line (associative: keys are never evaluated).
declare -gA LSB=()

# disks_reset: forget every parsed device.
disks_reset() {
  declare -gA D_TYPE=() D_SIZE=() D_RM=() D_RO=() D_ROTA=() D_TRAN=() D_SUBSYS=() D_SERIAL=()
  declare -gA D_WWN=() D_MODEL=() D_PARENT=() D_FSTYPE=() D_MOUNT=() D_PARTS=() D_HOLDERS=()
  declare -gA D_MOUNTED=() D_BYID=() D_BYPATH=() LSB=()
  declare -ga D_ALL=() D_TOP=()
}

# disks_unescape TEXT: lsblk -P's \xNN escapes back to bytes (a \ only ever starts \xNN).
disks_unescape() {
  local out
  printf -v out '%b' "$1"
  printf '%s' "$out"
}

# disks_parse_pairs LINE: fill the associative array LSB from one KEY="value" line.
disks_parse_pairs() {
  local line=$1 re='^[[:blank:]]*([A-Za-z0-9:_.-]+)="([^"]*)"'
  LSB=()
  while [[ $line =~ $re ]]; do
    printf -v "LSB[${BASH_REMATCH[1]}]" '%b' "${BASH_REMATCH[2]}"
    line=${line:${#BASH_REMATCH[0]}}
  done
}

# disks_parse_lsblk FILE: read `lsblk -P -b -o $DISKS_LSBLK_COLUMNS` output; fill the D_* maps.
disks_parse_lsblk() {
  local file=$1 line k
  while IFS= read -r line || [[ -n $line ]]; do
    [[ -n $line ]] || continue
    disks_parse_pairs "$line"
    k=${LSB[KNAME]:-${LSB[NAME]:-}}
    [[ -n $k && -z ${D_TYPE[$k]+set} ]] || continue
    D_ALL+=("$k")
    D_TYPE[$k]=${LSB[TYPE]:-}
    D_SIZE[$k]=${LSB[SIZE]:-0}
    [[ ${D_SIZE[$k]} =~ ^[0-9]+$ ]] || D_SIZE[$k]=0
    D_RM[$k]=${LSB[RM]:-0}
    D_RO[$k]=${LSB[RO]:-0}
    D_ROTA[$k]=${LSB[ROTA]:-0}
    D_TRAN[$k]=${LSB[TRAN]:-}
    D_SUBSYS[$k]=${LSB[SUBSYSTEMS]:-}
    D_SERIAL[$k]=${LSB[SERIAL]:-}
    D_WWN[$k]=${LSB[WWN]:-}
    D_MODEL[$k]=${LSB[MODEL]:-}
    D_PARENT[$k]=${LSB[PKNAME]:-}
    D_FSTYPE[$k]=${LSB[FSTYPE]:-}
    D_MOUNT[$k]=${LSB[MOUNTPOINT]:-}
  done <"$file"
  local top
  for k in "${D_ALL[@]}"; do
    top=$(disks_top "$k")
    if [[ $top == "$k" ]]; then
      D_TOP+=("$k")
      continue
    fi
    case ${D_TYPE[$k]} in
      part) D_PARTS[$top]=$((${D_PARTS[$top]:-0} + 1)) ;;
      *) D_HOLDERS[$top]="${D_HOLDERS[$top]:+${D_HOLDERS[$top]} }${k}(${D_TYPE[$k]})" ;;
    esac
  done
  for k in "${D_ALL[@]}"; do
    if [[ -n ${D_MOUNT[$k]} ]]; then
      top=$(disks_top "$k")
      D_MOUNTED[$top]="${D_MOUNTED[$top]:+${D_MOUNTED[$top]} }${D_MOUNT[$k]}"
    fi
  done
}

# disks_top KNAME: the top-level device (disk) a partition or holder belongs to.
disks_top() {
  local k=$1 i
  for ((i = 0; i < 16; i++)); do
    [[ -n ${D_PARENT[$k]:-} && -n ${D_TYPE[${D_PARENT[$k]}]+set} ]] || break
    k=${D_PARENT[$k]}
  done
  printf '%s' "$k"
}

# disks_parse_links FILE: lines "by-id|by-path LINKNAME KNAME" (see disks_collect_links).
disks_parse_links() {
  local file=$1 kind name target
  while read -r kind name target || [[ -n ${kind:-} ]]; do
    [[ -n ${target:-} ]] || continue
    case $kind in
      by-id) D_BYID[$target]="${D_BYID[$target]:+${D_BYID[$target]} }${name}" ;;
      by-path) D_BYPATH[$target]="${D_BYPATH[$target]:+${D_BYPATH[$target]} }${name}" ;;
    esac
  done <"$file"
}

# disks_collect_links: print the by-id and by-path links of this system for disks_parse_links.
# udev escapes blanks in link names (\x20), so a name is one word.
disks_collect_links() {
  local kind link target
  for kind in by-id by-path; do
    for link in /dev/disk/"$kind"/*; do
      [[ -L $link ]] || continue
      target=$(readlink -f -- "$link") || continue
      printf '%s %s %s\n' "$kind" "${link##*/}" "${target##*/}"
    done
  done
}

# disks_transport KNAME: nvme, sata, virtio, usb, scsi, mmc or what lsblk says (lowercase).
disks_transport() {
  local k=$1 t
  t=${D_TRAN[$k],,}
  case $t in
    ata | sata) t=sata ;;
    sas | spi | fc | iscsi | srp) t=scsi ;;
    '')
      if [[ ${D_SUBSYS[$k]} == *virtio* || $k == vd* ]]; then
        t=virtio
      elif [[ $k == nvme* ]]; then
        t=nvme
      elif [[ $k == mmcblk* ]]; then
        t=mmc
      elif [[ ${D_SUBSYS[$k]} == *usb* ]]; then
        t=usb
      else
        t=unknown
      fi
      ;;
  esac
  printf '%s' "$t"
}

# disks_rank TRANSPORT: default preference, lower is better (NVMe > SATA > virtio > others).
disks_rank() {
  case $1 in
    nvme) printf 1 ;;
    sata) printf 2 ;;
    virtio) printf 3 ;;
    *) printf 4 ;;
  esac
}

# disks_human BYTES: "8.0 GiB" / "512 MiB".
disks_human() {
  local b=$1
  if ((b >= GIB)); then
    printf '%d.%d GiB' $((b / GIB)) $((b * 10 / GIB % 10))
  else
    printf '%d MiB' $((b / 1048576))
  fi
}

# disks_glob_any VALUE PATTERN...: VALUE is non-empty and matches one of the glob patterns.
# Patterns are matched by [[ == ]], which never expands or executes them.
disks_glob_any() {
  local value=$1 p
  shift
  [[ -n $value ]] || return 1
  for p in "$@"; do
    # shellcheck disable=SC2053 # p is a glob on purpose
    [[ $value == $p ]] && return 0
  done
  return 1
}

# disks_links_match LINKS PREFIX PATTERN...: one of the space-separated link names matches a
# pattern; patterns may be written with or without the /dev/disk/by-xxx/ prefix.
disks_links_match() {
  local links=$1 prefix=$2 link
  shift 2
  local -a pats=()
  local p
  for p in "$@"; do pats+=("${p#"$prefix"}"); done
  local -a names=()
  read -r -a names <<<"$links"
  for link in "${names[@]}"; do
    disks_glob_any "$link" "${pats[@]}" && return 0
  done
  return 1
}

# disks_have_rules: any MI_DISK_* selection rule is set (else the default policy applies).
disks_have_rules() {
  ((${#MI_DISK_BY_ID[@]} + ${#MI_DISK_BY_PATH[@]} + ${#MI_DISK_SERIAL[@]} + ${#MI_DISK_WWN[@]} +
    ${#MI_DISK_MODEL[@]} + ${#MI_DISK_TRANSPORT[@]} > 0)) ||
    [[ -n ${MI_DISK_MIN_GIB:-}${MI_DISK_MAX_GIB:-}${MI_DISK_ROTATIONAL:-} ]]
}

# disks_rules KNAME: evaluate each set rule; fills RULES_PASSED and RULES_FAILED (rule names).
disks_rules() {
  local k=$1 size=${D_SIZE[$1]}
  RULES_PASSED=() RULES_FAILED=()
  if ((${#MI_DISK_BY_ID[@]})); then
    disks_rule_result by-id disks_links_match "${D_BYID[$k]:-}" /dev/disk/by-id/ "${MI_DISK_BY_ID[@]}"
  fi
  if ((${#MI_DISK_BY_PATH[@]})); then
    disks_rule_result by-path disks_links_match "${D_BYPATH[$k]:-}" /dev/disk/by-path/ "${MI_DISK_BY_PATH[@]}"
  fi
  if ((${#MI_DISK_SERIAL[@]})); then
    disks_rule_result serial disks_glob_any "${D_SERIAL[$k]}" "${MI_DISK_SERIAL[@]}"
  fi
  if ((${#MI_DISK_WWN[@]})); then
    local -a wwn_pats=()
    local p
    for p in "${MI_DISK_WWN[@]}"; do wwn_pats+=("${p,,}"); done
    disks_rule_result wwn disks_glob_any "${D_WWN[$k],,}" "${wwn_pats[@]}"
  fi
  if ((${#MI_DISK_MODEL[@]})); then
    disks_rule_result model disks_glob_any "${D_MODEL[$k]}" "${MI_DISK_MODEL[@]}"
  fi
  if ((${#MI_DISK_TRANSPORT[@]})); then
    disks_rule_result transport disks_glob_any "$(disks_transport "$k")" "${MI_DISK_TRANSPORT[@]}"
  fi
  if [[ -n ${MI_DISK_MIN_GIB:-}${MI_DISK_MAX_GIB:-} ]]; then
    if [[ -n ${MI_DISK_MIN_GIB:-} ]] && ((size < MI_DISK_MIN_GIB * GIB)); then
      RULES_FAILED+=(size)
    elif [[ -n ${MI_DISK_MAX_GIB:-} ]] && ((size > MI_DISK_MAX_GIB * GIB)); then
      RULES_FAILED+=(size)
    else
      RULES_PASSED+=(size)
    fi
  fi
  if [[ -n ${MI_DISK_ROTATIONAL:-} ]]; then
    local want=0
    [[ $MI_DISK_ROTATIONAL == yes ]] && want=1
    if [[ ${D_ROTA[$k]} == "$want" ]]; then RULES_PASSED+=(rotational); else RULES_FAILED+=(rotational); fi
  fi
  return 0
}

# disks_rule_result NAME CHECK ARGS...: run one rule check and record its outcome.
disks_rule_result() {
  local name=$1
  shift
  if "$@"; then RULES_PASSED+=("$name"); else RULES_FAILED+=("$name"); fi
}

# disks_usb_allowed: USB/removable disks are candidates only when the transport rule lists usb.
disks_usb_allowed() {
  local t
  for t in "${MI_DISK_TRANSPORT[@]}"; do [[ $t == usb ]] && return 0; done
  return 1
}

# disks_rejections KNAME MEDIA REQUIRED: print the reasons (one per line) a disk cannot be used.
disks_rejections() {
  local k=$1 media=" $2 " required=$3 t
  t=$(disks_transport "$k")
  [[ $media == *" $k "* ]] && echo "install media"
  [[ ${D_TYPE[$k]} == rom ]] && echo "optical drive"
  [[ ${D_RO[$k]} == 1 ]] && echo "read-only"
  [[ -n ${D_MOUNTED[$k]:-} ]] && echo "in use (mounted: ${D_MOUNTED[$k]})"
  if [[ ${D_RM[$k]} == 1 || $t == usb ]] && ! disks_usb_allowed; then
    echo "removable or USB (list usb in the transport rule to allow it)"
  fi
  if [[ ${MI_DISK_WIPE_EXISTING:-no} != yes ]]; then
    if ((${D_PARTS[$k]:-0} > 0)); then
      echo "has ${D_PARTS[$k]} partition(s) (set the wipe-existing option to overwrite)"
    elif [[ -n ${D_FSTYPE[$k]} || -n ${D_HOLDERS[$k]:-} ]]; then
      echo "holds data (${D_FSTYPE[$k]:-${D_HOLDERS[$k]}}) (set the wipe-existing option to overwrite)"
    fi
  fi
  if ((D_SIZE[$k] < required)); then
    echo "too small (needs $(disks_human "$required"))"
  fi
  if disks_have_rules; then
    disks_rules "$k"
    if [[ ${MI_DISK_MATCH:-$FACT_DISK_MATCH_DEFAULT} == all ]] && ((${#RULES_FAILED[@]})); then
      echo "rules not matched: ${RULES_FAILED[*]}"
    elif [[ ${MI_DISK_MATCH:-$FACT_DISK_MATCH_DEFAULT} == any ]] && ((${#RULES_PASSED[@]} == 0)); then
      echo "no rule matched (${RULES_FAILED[*]})"
    fi
  fi
  return 0
}

# disks_ignored KNAME: devices never offered nor listed (virtual or empty).
disks_ignored() {
  local k=$1
  [[ ${D_TYPE[$k]} == disk || ${D_TYPE[$k]} == rom ]] || return 0
  [[ $k == zram* || $k == ram* || $k == nbd* || $k == loop* ]] && return 0
  ((D_SIZE[$k] == 0)) && [[ ${D_TYPE[$k]} != rom ]]
}

# disks_choose LSBLK_FILE LINKS_FILE MEDIA_DISKS REQUIRED_BYTES: apply the MI_DISK_* rules.
# MEDIA_DISKS: space-separated knames of the install media's disks (never candidates).
# Sets CHOSEN_DISK (kname) or CHOOSE_ERROR, and DISK_ROWS (the table) and DISKS_IGNORED.
# Returns 1 when no disk or more than one (a tie) is left: never a guess.
disks_choose() {
  local lsblk_file=$1 links_file=$2 media=$3 required=$4 k reasons
  disks_reset
  disks_parse_lsblk "$lsblk_file"
  disks_parse_links "$links_file"
  CHOSEN_DISK='' CHOOSE_ERROR='' DISK_ROWS=() DISKS_IGNORED=()
  declare -gA DISK_VERDICT=()
  local -a cands=() shown=()
  for k in "${D_TOP[@]}"; do
    if disks_ignored "$k"; then
      DISKS_IGNORED+=("$k")
      continue
    fi
    shown+=("$k")
    # checked explicitly: callers run this in an if/|| context, where set -e does not apply
    if ! reasons=$(disks_rejections "$k" "$media" "$required"); then
      CHOOSE_ERROR="internal error while checking ${k}"
      return 2
    fi
    if [[ -n $reasons ]]; then
      DISK_VERDICT[$k]="rejected: ${reasons//$'\n'/; }"
    else
      cands+=("$k")
      DISK_VERDICT[$k]=candidate
    fi
  done
  disks_pick "${cands[@]}"
  local rc=$?
  disks_table "${shown[@]}"
  return "$rc"
}

# disks_pick KNAME...: choose among the eligible disks; set CHOSEN_DISK or CHOOSE_ERROR.
disks_pick() {
  local -a cands=("$@") best=()
  local k pick=${MI_DISK_PICK:-smallest}
  if ((${#cands[@]} == 0)); then
    CHOOSE_ERROR="no disk matches the disk rules (see the table of candidates)"
    return 1
  fi
  if ! disks_have_rules; then
    local r min_rank=9
    for k in "${cands[@]}"; do
      r=$(disks_rank "$(disks_transport "$k")")
      ((r < min_rank)) && min_rank=$r
    done
    for k in "${cands[@]}"; do
      if (($(disks_rank "$(disks_transport "$k")") == min_rank)); then
        best+=("$k")
      else
        DISK_VERDICT[$k]="rejected: lower preference (default order: nvme > sata > virtio > others)"
      fi
    done
    cands=("${best[@]}")
  fi
  local want=''
  for k in "${cands[@]}"; do
    if [[ -z $want ]] || { [[ $pick == smallest ]] && ((D_SIZE[$k] < want)); } ||
      { [[ $pick == largest ]] && ((D_SIZE[$k] > want)); }; then
      want=${D_SIZE[$k]}
    fi
  done
  best=()
  for k in "${cands[@]}"; do
    if ((D_SIZE[$k] == want)); then
      best+=("$k")
    else
      DISK_VERDICT[$k]="rejected: not the ${pick} match"
    fi
  done
  if ((${#best[@]} > 1)); then
    for k in "${best[@]}"; do DISK_VERDICT[$k]="rejected: tie (same size as ${best[*]})"; done
    CHOOSE_ERROR="several disks tie (${best[*]}, $(disks_human "$want") each); add a rule (serial, by-id, by-path, ...) to choose one"
    return 1
  fi
  CHOSEN_DISK=${best[0]}
  DISK_VERDICT[$CHOSEN_DISK]=chosen
  return 0
}

# disks_table KNAME...: fill DISK_ROWS with a header and one row per listed disk.
disks_table() {
  local k
  local row
  printf -v row '%-10s %10s %-7s %-4s %-2s %-20.20s %-20.20s %s' DISK SIZE TRAN ROTA RM MODEL SERIAL VERDICT
  DISK_ROWS=("$row")
  for k in "$@"; do
    printf -v row '%-10s %10s %-7s %-4s %-2s %-20.20s %-20.20s %s' "$k" "$(disks_human "${D_SIZE[$k]}")" "$(disks_transport "$k")" \
      "${D_ROTA[$k]}" "${D_RM[$k]}" "${D_MODEL[$k]:--}" "${D_SERIAL[$k]:--}" "${DISK_VERDICT[$k]}"
    DISK_ROWS+=("$row")
  done
}

# disks_part_name DISK N: the device name of partition N (nvme0n1 -> nvme0n1p2, sda -> sda2,
# loop0 -> loop0p2, mmcblk0 -> mmcblk0p2): a "p" goes in when the disk name ends in a digit.
disks_part_name() {
  local disk=$1 n=$2
  if [[ $disk =~ [0-9]$ ]]; then
    printf '%sp%s\n' "$disk" "$n"
  else
    printf '%s%s\n' "$disk" "$n"
  fi
}

# disks_part_by_label FILE LABEL: among partition records (KEY="value" lines with PATH, LABEL,
# PARTLABEL, PARTTYPE) print the PATH whose filesystem label or partition name is LABEL
# (case-insensitive; for "esp" also the EFI system partition type). Fails on none or several.
disks_part_by_label() {
  local file=$1 want=${2,,} line
  local -a found=()
  while IFS= read -r line || [[ -n $line ]]; do
    [[ -n $line ]] || continue
    disks_parse_pairs "$line"
    if [[ ${LSB[LABEL],,} == "$want" || ${LSB[PARTLABEL],,} == "$want" ]]; then
      found+=("${LSB[PATH]}")
    fi
  done <"$file"
  if ((${#found[@]} == 0)) && [[ $want == esp ]]; then
    while IFS= read -r line || [[ -n $line ]]; do
      disks_parse_pairs "$line"
      [[ ${LSB[PARTTYPE],,} == c12a7328-f81f-11d2-ba4b-00a0c93ec93b ]] && found+=("${LSB[PATH]}")
    done <"$file"
  fi
  ((${#found[@]} == 1)) || return 1
  printf '%s\n' "${found[0]}"
}

# disks_vg_elsewhere VG TARGET: print the physical volumes of a volume group named VG that are
# not on the disk TARGET (/dev/...). Creating a second group of that name would fail after the
# image is written; a group on TARGET itself is deactivated and overwritten (image_write).
disks_vg_elsewhere() {
  local vg=$1 target=${2##*/} pv name top
  command -v pvs >/dev/null 2>&1 || return 0
  while read -r pv name; do
    [[ -n ${name:-} && $name == "$vg" ]] || continue
    top=$(lsblk -ndo PKNAME -- "$pv" 2>/dev/null | head -n1) || true
    top=${top//[[:space:]]/}
    [[ -n $top ]] || top=${pv##*/}
    [[ $top == "$target" ]] || printf '%s\n' "$pv"
  done < <(pvs --noheadings -o pv_name,vg_name 2>/dev/null || true)
  return 0
}
