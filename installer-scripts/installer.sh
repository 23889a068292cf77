#!/usr/bin/env bash
# make-iso installer: runs on the edge node after it boots the ISO (make-iso-installer.service).
# Finds the install media, chooses the target disk by the answers' rules, writes and verifies the
# OS image, applies the answers, sets the UEFI boot entry and reports each step on the console.
# Behaviour, console lines and test seams: README.md (The installer on the node); file and key contract: docs/contracts.md.
# shellcheck source-path=SCRIPTDIR
set -Eeuo pipefail
# a getty's vhangup() on a console we write to must not end the install
trap '' HUP
shopt -s inherit_errexit
export LC_ALL=C PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# the log fd and process substitutions are inherited on purpose; LVM would warn about each
export LVM_SUPPRESS_FD_WARNINGS=1
umask 022

MI_LIB_DIR=$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/lib
# shellcheck source=lib/log.sh
source "$MI_LIB_DIR/log.sh"
# shellcheck source=lib/config.sh
source "$MI_LIB_DIR/config.sh"
# shellcheck source=lib/guard.sh
source "$MI_LIB_DIR/guard.sh"
# shellcheck source=lib/disks.sh
source "$MI_LIB_DIR/disks.sh"
# shellcheck source=lib/media.sh
source "$MI_LIB_DIR/media.sh"
# shellcheck source=lib/image.sh
source "$MI_LIB_DIR/image.sh"
# shellcheck source=lib/configure.sh
source "$MI_LIB_DIR/configure.sh"
# shellcheck source=lib/hosttype.sh
source "$MI_LIB_DIR/hosttype.sh"
# shellcheck source=lib/bootentry.sh
source "$MI_LIB_DIR/bootentry.sh"
# shellcheck source=lib/requirements.sh
source "$MI_LIB_DIR/requirements.sh"
# shellcheck source=lib/nodes.sh
source "$MI_LIB_DIR/nodes.sh"

MI_INSTALL_ENV=${MI_INSTALL_ENV:-/etc/make-iso/install.env}
# the directory of install.env holds the other config files (a node's env file may replace install.env)
MI_CONFIG_DIR=${MI_INSTALL_ENV%/*}
# cloud-init extras: cloud-init.yaml next to install.env, or a fleet entry's own (select_node)
MI_CLOUD_INIT_SRC=$MI_CONFIG_DIR/cloud-init.yaml
MI_CMDLINE_FILE=${MI_CMDLINE_FILE:-/proc/cmdline}
MI_RUN_DIR=${MI_RUN_DIR:-/run/make-iso}
MI_FAIL_FILE=$MI_RUN_DIR/fail-reason

STEPS=(
  'read the install configuration'
  'find and mount the install media'
  'verify the OS image on the media'
  'choose the target disk'
  'write the OS image'
  'verify the written image'
  'configure the installed system'
  'create the LVM volume group'
  'set the boot entry'
  'finish'
)
STEP_NO=0
STEP_TEXT=''
FAIL_REASON=''
LAST_ERR=''
FINISHED=0
MEDIA_ROOT=''

# step N: announce step N of the list on the console.
step() {
  STEP_NO=$1
  STEP_TEXT=${STEPS[$1 - 1]}
  say "step ${STEP_NO}/${#STEPS[@]}: ${STEP_TEXT}"
}

# on_err STATUS COMMAND: remember the first failing command (the EXIT trap reports it).
on_err() {
  [[ -n $LAST_ERR ]] || LAST_ERR="command '${2}' exited with status ${1}"
}

# on_exit: on any failure, undo what can be undone, print the FAILED line, never reboot.
on_exit() {
  local rc=$?
  trap - EXIT ERR
  set +e
  ((FINISHED)) && exit 0
  ((rc != 0)) || rc=1
  local reason=$FAIL_REASON
  [[ -n $reason || ! -s $MI_FAIL_FILE ]] || reason=$(<"$MI_FAIL_FILE")
  [[ -n $reason ]] || reason=${LAST_ERR:-exit status ${rc}}
  failure_cleanup
  if ((STEP_NO > 0)); then reason="step ${STEP_NO}/${#STEPS[@]} (${STEP_TEXT}): ${reason}"; fi
  print_log
  say "FAILED: ${reason}; nothing rebooted; log: ${MI_LOG_FILE}"
  media_copy_log "$MI_LOG_FILE"
  exit "$rc"
}

# print_log: the whole log on the console after a failure (before the FAILED line, which stays
# last), so it can be read on the node without a log partition (lines prefixed "make-iso-log: ").
print_log() {
  local line
  info "the installer log follows (${MI_LOG_FILE})"
  while IFS= read -r line; do
    log_emit_console "make-iso-log: ${line}"
  done <"$MI_LOG_FILE"
  info "end of the installer log"
}

# failure_cleanup: unmount what we mounted; clear the partition table of a half-installed disk so
# it never boots an incomplete system.
failure_cleanup() {
  cfg_umount_root 2>/dev/null
  if ((WRITE_STARTED)) && [[ -n $TARGET_DISK ]] && ((PLAN_MODE == 0)); then
    info "clearing the partition table of ${TARGET_DISK} (the install did not complete)"
    run wipefs -a -- "$TARGET_DISK" || true
  fi
  media_release 2>/dev/null
}

# preflight: everything the run needs (requirements.tsv: tools, kernel modules, a test mount of
# ext4 and vfat), checked before anything is touched.
preflight() {
  req_preflight "$MI_RUN_DIR"
}

# read_configuration: kernel command line and install.env (all problems listed at once).
read_configuration() {
  CONFIG_ERRORS=()
  cmdline_parse "$MI_CMDLINE_FILE" || true
  PLAN_MODE=$CMD_PLAN
  MI_DEBUG=$CMD_DEBUG
  if ((MI_DEBUG)); then
    exec {xtrace_fd}>>"$MI_LOG_FILE"
    BASH_XTRACEFD=$xtrace_fd
    set -x
  fi
  select_node
  config_load "$MI_INSTALL_ENV" || true
  if ((${#CONFIG_ERRORS[@]})); then
    local e
    for e in "${CONFIG_ERRORS[@]}"; do info "config: ${e}"; done
    die "the install configuration is invalid (${#CONFIG_ERRORS[@]} problem(s): ${CONFIG_ERRORS[0]})"
  fi
  check_image_needs
  check_cloud_init_extras
  guard_test_seams
  preflight
  ((PLAN_MODE)) && say "PLAN: plan mode (makeiso.plan=1): every check runs, nothing is written"
  return 0
}

# select_node: with a node match table next to install.env (a fleet medium), install with the env
# file of the one entry matching this machine; none or several: FAILED here, nothing written.
select_node() {
  local table=$MI_CONFIG_DIR/$FACT_NODE_DIR/$FACT_NODE_MATCH_TABLE ident=$MI_RUN_DIR/identity.tsv r
  [[ -f $table ]] || return 0
  nodes_identity "${MI_TEST_SYS_ROOT:-}" "${MI_TEST_DISK_SERIALS_FILE:-}" >"$ident"
  log "machine identity: $(nodes_identity_text "$ident")"
  nodes_choose "$table" "$ident" || die "${NODE_ERROR}; nothing was written"
  for r in "${NODE_REASONS[@]}"; do say "node ${NODE_NAME}: ${r}"; done
  MI_INSTALL_ENV=$MI_CONFIG_DIR/$FACT_NODE_DIR/$NODE_NAME.env
  # the entry's own cloud-init extras (present only when its merged answers have extras)
  MI_CLOUD_INIT_SRC=$MI_CONFIG_DIR/$FACT_NODE_DIR/$NODE_NAME$FACT_NODE_CLOUD_INIT_SUFFIX
  [[ -r $MI_INSTALL_ENV ]] || die "node ${NODE_NAME} has no env file ${MI_INSTALL_ENV} (a damaged medium); nothing was written"
  ((PLAN_MODE == 0)) || say "PLAN: install as node ${NODE_NAME} (${MI_INSTALL_ENV})"
  return 0
}

# check_cloud_init_extras: the cloud-init extras install.env promises are on the installer (a
# damaged medium fails here, not at step 7 after writing); plan mode names the file.
check_cloud_init_extras() {
  [[ $MI_CLOUD_INIT == yes ]] || return 0
  [[ -r $MI_CLOUD_INIT_SRC ]] ||
    die "MI_CLOUD_INIT is yes but ${MI_CLOUD_INIT_SRC} is missing from the installer (a damaged medium); nothing was written"
  ((PLAN_MODE == 0)) || say "PLAN: cloud-init extras from ${MI_CLOUD_INIT_SRC}"
  return 0
}

# check_image_needs: answers the OS image cannot take (its facts, probed by the build, are in
# install.env) fail here, before anything is touched; step 7 checks the written image again.
check_image_needs() {
  local -a unmet=()
  local u
  mapfile -t unmet < <(config_image_needs)
  ((${#unmet[@]})) || return 0
  for u in "${unmet[@]}"; do info "config: ${u}"; done
  die "answers that cannot apply to this OS image: $(IFS=';' && printf '%s' "${unmet[*]}")"
}

# find_media: the media root directory (mounted read-only), and the disks it lives on.
find_media() {
  if [[ -n ${MI_TEST_MEDIA_DIR:-} ]]; then
    info "test seam: media directory ${MI_TEST_MEDIA_DIR}"
    MEDIA_ROOT=$MI_TEST_MEDIA_DIR
    return 0
  fi
  [[ -n $CMD_VOLID ]] || die "the kernel command line has no makeiso.volid=<volume id>; boot from the make-iso menu entry"
  media_wait "$CMD_VOLID"
  MEDIA_DISKS=$(media_disks "$CMD_VOLID")
  media_mount "$MI_RUN_DIR/media"
  MEDIA_ROOT=$MEDIA_DIR
  info "install media ${MEDIA_DEV} (disk ${MEDIA_DISKS}) mounted read-only at ${MEDIA_ROOT}"
}

# check_image: sha256 of the .raw.gz first, then the raw size and sha256.
check_image() {
  image_check_sha256 "$MEDIA_ROOT"
  image_measure "$MI_RUN_DIR"
  image_check_filesystems "$MI_RUN_DIR"
  info "OS image ${MI_OS_IMAGE}: sha256 ok, $(disks_human "$IMAGE_RAW_BYTES") raw"
  check_user_apps
}

# check_user_apps: the media's user apps (copied at step 7) are read once now, so a bad sector
# fails the install before anything is written.
check_user_apps() {
  [[ -n $MI_USER_APPS_DIR ]] || return 0
  local bad
  bad=$(media_read_tree "$MEDIA_ROOT/$MI_USER_APPS_DIR") ||
    die "cannot read the user apps from the install media (${MI_USER_APPS_DIR}/${bad}); nothing was written; rewrite the install media"
  log "user apps: ${MEDIA_ROOT}/${MI_USER_APPS_DIR} read in full"
}

# choose_disk: run the rules over lsblk and the by-id/by-path links, print the table.
choose_disk() {
  local lsblk_file=$MI_RUN_DIR/lsblk.txt links_file=$MI_RUN_DIR/links.txt rc=0 row
  local required=$((IMAGE_RAW_BYTES + MI_LVM_SIZE_GIB * GIB))
  if [[ -n ${MI_TEST_TARGET:-} ]]; then
    TARGET_DISK=$MI_TEST_TARGET
    info "test seam: target ${TARGET_DISK} (disk rules not applied)"
    check_vg_name
    return 0
  fi
  if [[ -n ${MI_TEST_LSBLK_FILE:-} ]]; then
    cp -- "$MI_TEST_LSBLK_FILE" "$lsblk_file"
    cp -- "${MI_TEST_LINKS_FILE:-/dev/null}" "$links_file"
  else
    lsblk -P -b -o "$DISKS_LSBLK_COLUMNS" >"$lsblk_file" || die "lsblk failed"
    disks_collect_links >"$links_file"
  fi
  disks_choose "$lsblk_file" "$links_file" "$MEDIA_DISKS" "$required" || rc=$?
  for row in "${DISK_ROWS[@]}"; do
    if ((PLAN_MODE)); then say "PLAN: ${row}"; else info "$row"; fi
  done
  ((${#DISKS_IGNORED[@]} == 0)) || log "ignored (virtual or empty): ${DISKS_IGNORED[*]}"
  ((rc == 0)) || die "$CHOOSE_ERROR"
  TARGET_DISK=/dev/$CHOSEN_DISK
  info "target disk: ${TARGET_DISK} ($(disks_human "${D_SIZE[$CHOSEN_DISK]}") $(disks_transport "$CHOSEN_DISK") ${D_MODEL[$CHOSEN_DISK]:-} ${D_SERIAL[$CHOSEN_DISK]:-})"
  check_vg_name
}

# check_vg_name: with LVM asked for, no other disk may hold a volume group named lvmvg (step 8
# would fail after the image is written); known here, so the install stops before writing.
check_vg_name() {
  ((MI_LVM_SIZE_GIB > 0)) || return 0
  local pvs
  pvs=$(disks_vg_elsewhere lvmvg "$TARGET_DISK")
  [[ -z $pvs ]] || die "another disk already holds a volume group named lvmvg (${pvs//$'\n'/ }); a second one cannot be created on ${TARGET_DISK}; nothing was written; remove it (vgremove lvmvg) or detach that disk"
}

# print_plan: the steps a real run would take, then the PLAN COMPLETE line.
print_plan() {
  local n=${#STEPS[@]}
  say "PLAN: step 5/${n}: write ${MI_OS_IMAGE} ($(disks_human "$IMAGE_RAW_BYTES")) to ${TARGET_DISK}, erasing it"
  say "PLAN: step 6/${n}: read ${TARGET_DISK} back and compare with sha256 ${IMAGE_RAW_SHA256}"
  say "PLAN: step 7/${n}: configure user ${MI_USER_NAME}, ${#MI_SSH_KEYS[@]} ssh key(s), network ${MI_NET_MODE}, host type ${MI_HOST_TYPE}"
  if ((MI_LVM_SIZE_GIB > 0)); then
    say "PLAN: step 8/${n}: create LVM volume group lvmvg of ${MI_LVM_SIZE_GIB} GiB after the image"
  else
    say "PLAN: step 8/${n}: no LVM volume group"
  fi
  say "PLAN: step 9/${n}: $(boot_plan_text)"
  say "PLAN: step 10/${n}: then ${MI_AFTER_INSTALL}"
  say "PLAN COMPLETE"
}

# boot_plan_text: what step 9 does on this firmware.
boot_plan_text() {
  if [[ -d /sys/firmware/efi ]]; then
    printf 'UEFI boot entry "%s" for %s first in BootOrder' "$BOOT_LABEL" "$TARGET_DISK"
  else
    printf 'BIOS firmware: no boot entry to set; report whether the image boots by BIOS'
  fi
}

# write_image / verify_image / configure / set_boot_entry / finish: steps 5 to 10.
write_image() {
  image_write "$TARGET_DISK" "$MI_RUN_DIR"
  image_reread "$TARGET_DISK"
}

verify_image() {
  image_verify "$TARGET_DISK"
  image_grow_gpt "$TARGET_DISK"
  image_reread "$TARGET_DISK"
  image_find_partitions "$TARGET_DISK" "$MI_RUN_DIR"
  image_grow_persistent "$TARGET_DISK" "$MI_RUN_DIR"
}

configure() {
  cfg_mount_root "$PART_ROOTFS" "$MI_RUN_DIR/target"
  cfg_check_image
  cfg_check_host_type "$MEDIA_ROOT"
  cfg_user
  cfg_ssh_keys
  cfg_proxy
  cfg_hostname
  cfg_network
  cfg_ntp
  cfg_host_type "$MEDIA_ROOT" "$MI_CONFIG_DIR" "$MI_RUN_DIR"
  cfg_cloud_init "$MI_CLOUD_INIT_SRC"
  cfg_hugepages
  cfg_user_apps "$MEDIA_ROOT" "$MI_RUN_DIR"
  cfg_marker "$TARGET_DISK"
}

create_lvm() {
  if ((MI_LVM_SIZE_GIB == 0)); then
    info "no LVM volume group requested"
    return 0
  fi
  lvm_create "$TARGET_DISK" "$MI_RUN_DIR"
}

set_boot_entry() {
  if [[ -n ${MI_TEST_NO_BOOTENTRY:-} ]]; then
    info "test seam: boot entry skipped"
  elif [[ -d /sys/firmware/efi ]]; then
    boot_set_uefi "$TARGET_DISK" "$PART_ESP"
  else
    info "BIOS firmware: no UEFI boot entry to set"
  fi
  image_bios_note "$TARGET_DISK" "$MI_RUN_DIR"
}

finish() {
  info "after install: ${MI_AFTER_INSTALL}"
  cfg_copy_log
  cfg_umount_root
  media_copy_log "$MI_LOG_FILE"
  if [[ -z ${MI_TEST_MEDIA_DIR:-} ]]; then media_release; fi
}

# after_install: reboot, power off or stay (the test seam MI_TEST_NO_REBOOT only logs it).
after_install() {
  if [[ -n ${MI_TEST_NO_REBOOT:-} ]]; then
    log "test seam: not running '${MI_AFTER_INSTALL}'"
    return 0
  fi
  case $MI_AFTER_INSTALL in
    reboot) run systemctl --no-block reboot || true ;;
    poweroff) run systemctl --no-block poweroff || true ;;
    stay) ;;
  esac
}

main() {
  mkdir -p -- "$MI_RUN_DIR"
  rm -f -- "$MI_FAIL_FILE"
  log_init
  trap 'on_err "$?" "$BASH_COMMAND"' ERR
  trap on_exit EXIT
  local version=unknown
  [[ -r /etc/make-iso/version ]] && version=$(</etc/make-iso/version)
  say "started (version ${version})"
  step 1 && read_configuration
  step 2 && find_media
  step 3 && check_image
  step 4 && choose_disk
  if ((PLAN_MODE)); then
    print_plan
    media_release
    FINISHED=1
    return 0
  fi
  step 5 && write_image
  step 6 && verify_image
  step 7 && configure
  step 8 && create_lvm
  step 9 && set_boot_entry
  step 10 && finish
  FINISHED=1
  say "SUCCESS: installed ${MI_OS_IMAGE} on ${TARGET_DISK}"
  after_install
}

main "$@"
