#!/usr/bin/env bash
# UEFI boot entry for the installed disk: removes stale entries with our label, creates one for
# the ESP's \EFI\BOOT\BOOTX64.EFI and puts it first in BootOrder. Parsing is pure (tested on
# captured efibootmgr output); only boot_set_uefi talks to the firmware.
# shellcheck disable=SC2034 # globals set here are read by installer.sh and the other libraries

BOOT_LABEL=${MI_TEST_BOOT_LABEL:-Edge Microvisor Toolkit}
BOOT_LOADER='\EFI\BOOT\BOOTX64.EFI'

# efi_entries_with_label LABEL: boot numbers (XXXX) whose label is LABEL, from efibootmgr on stdin.
efi_entries_with_label() {
  local want=$1 line label re='^Boot([0-9A-Fa-f]{4})[*]?[[:blank:]]+(.*)$'
  while IFS= read -r line; do
    [[ $line =~ $re ]] || continue
    label=${BASH_REMATCH[2]%%$'\t'*}
    label=${label%"${label##*[![:space:]]}"}
    [[ $label == "$want" ]] && printf '%s\n' "${BASH_REMATCH[1]}"
  done
  return 0
}

# efi_boot_order: the BootOrder value ("0003,0001") from efibootmgr output on stdin.
efi_boot_order() {
  local line
  while IFS= read -r line; do
    if [[ $line =~ ^BootOrder:\ *([0-9A-Fa-f,]*) ]]; then
      printf '%s\n' "${BASH_REMATCH[1]}"
      return 0
    fi
  done
  printf '\n'
}

# efi_order_first NUM ORDER: ORDER with NUM moved to the front.
efi_order_first() {
  local num=$1 order=$2 n out=$1
  local -a items=()
  IFS=, read -r -a items <<<"$order"
  for n in "${items[@]}"; do
    [[ ${n^^} == "${num^^}" || -z $n ]] || out+=",$n"
  done
  printf '%s\n' "$out"
}

# boot_set_uefi DISK ESP_PART: replace our entry and make it the first to boot.
boot_set_uefi() {
  local disk=$1 esp=$2 partnum out n new order
  partnum=$(<"/sys/class/block/${esp##*/}/partition") || die "cannot tell the partition number of ${esp}"
  out=$(efibootmgr) || die "efibootmgr cannot read the boot entries"
  for n in $(efi_entries_with_label "$BOOT_LABEL" <<<"$out"); do
    info "removing stale UEFI boot entry Boot${n} (${BOOT_LABEL})"
    run efibootmgr -q -b "$n" -B || die "cannot remove the stale boot entry Boot${n}"
  done
  out=$(efibootmgr -c -d "$disk" -p "$partnum" -L "$BOOT_LABEL" -l "$BOOT_LOADER") ||
    die "efibootmgr cannot create the boot entry for ${disk}"
  log "efibootmgr: ${out//$'\n'/ | }"
  new=$(efi_entries_with_label "$BOOT_LABEL" <<<"$out" | head -n1)
  [[ -n $new ]] || die "the new UEFI boot entry does not show up in efibootmgr's list"
  order=$(efi_boot_order <<<"$out")
  if [[ ${order%%,*} != "$new" ]]; then
    run efibootmgr -q -o "$(efi_order_first "$new" "$order")" || die "cannot put Boot${new} first in BootOrder"
  fi
  info "UEFI: Boot${new} \"${BOOT_LABEL}\" -> ${esp} ${BOOT_LOADER}, first in BootOrder"
}
