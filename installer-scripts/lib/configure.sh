#!/usr/bin/env bash
# Applies the answers to the installed root filesystem (mounted from the partition labelled
# rootfs): user with its SHA-512 hash and sudo rights, ssh keys, proxy, hostname, network, DNS,
# host type, cloud-init (NoCloud forced, extras and NTP), hugepages; user apps onto
# edge_persistent. Values are written as data into files, each file written whole (temp file +
# rename) and logged by path, never by content. The node runs EMT's model (docs/installed-node.md):
# the rootfs is the read-only lower layer of /etc and /var, edge_persistent is /opt.
# shellcheck disable=SC2034 # globals set here are read by installer.sh and the other libraries

CFG_ROOT=''
CFG_MOUNTED=0
SYS_CLASS_NET=${MI_TEST_SYS_CLASS_NET:-/sys/class/net}

# cfg_mount_root PART DIR: mount the installed root filesystem read-write at DIR.
cfg_mount_root() {
  local part=$1 dir=$2
  guard_write "$part"
  mkdir -p -- "$dir"
  if mountpoint -q -- "$dir"; then run umount -- "$dir"; fi
  run mount -- "$part" "$dir" || die "cannot mount the installed root filesystem ${part}"
  CFG_ROOT=$dir
  CFG_MOUNTED=1
}

# cfg_umount_root: flush and unmount the installed root filesystem.
cfg_umount_root() {
  ((CFG_MOUNTED)) || return 0
  run sync
  run umount -- "$CFG_ROOT" || run umount -l -- "$CFG_ROOT" || true
  CFG_MOUNTED=0
}

# cfg_write REL MODE: write stdin to CFG_ROOT/REL (root-owned, MODE) via a temp file + rename.
cfg_write() {
  local rel=$1 mode=$2 dest tmp
  dest=$CFG_ROOT/$rel
  mkdir -p -- "${dest%/*}"
  tmp=$dest.make-iso.tmp
  (umask 077 && cat >"$tmp")
  chmod "$mode" -- "$tmp"
  mv -f -- "$tmp" "$dest"
  log "wrote /${rel} (mode ${mode})"
}

# cfg_passwd_entry USER: print "UID GID HOME" of USER from the installed /etc/passwd.
cfg_passwd_entry() {
  local want=$1 name pw uid gid gecos home shell
  while IFS=: read -r name pw uid gid gecos home shell; do
    if [[ $name == "$want" ]]; then
      printf '%s %s %s\n' "$uid" "$gid" "$home"
      return 0
    fi
  done <"$CFG_ROOT/etc/passwd"
  return 1
}

# cfg_user: create the user (or keep an existing one), set its password hash, grant sudo.
cfg_user() {
  local user=$MI_USER_NAME g
  local -a groups=()
  if cfg_passwd_entry "$user" >/dev/null; then
    info "user ${user} already exists in the image; setting its password"
  else
    for g in wheel sudo; do
      grep -q "^${g}:" "$CFG_ROOT/etc/group" 2>/dev/null && groups+=("$g")
    done
    local -a opts=(--root "$CFG_ROOT" --create-home --user-group --shell /bin/bash)
    if ((${#groups[@]})); then opts+=(--groups "$(IFS=, && printf '%s' "${groups[*]}")"); fi
    run useradd "${opts[@]}" -- "$user" || die "cannot create the user ${user} in the installed system"
  fi
  if [[ -n $MI_USER_PASSWORD_HASH ]]; then
    printf '%s:%s\n' "$user" "$MI_USER_PASSWORD_HASH" | run chpasswd --encrypted --root "$CFG_ROOT" ||
      die "cannot set the password of ${user} in the installed system"
  else
    info "no password hash given: ${user} logs in with its ssh key only"
  fi
  cfg_sudo "$user"
}

# cfg_sudo USER: the sudo policy MI_USER_SUDO: nopasswd (upstream's NOPASSWD:ALL), password
# (ALL, asks the user's password) or none (no sudoers file).
cfg_sudo() {
  local user=$1
  case ${MI_USER_SUDO:-password} in
    nopasswd) printf '%s ALL=(ALL) NOPASSWD:ALL\n' "$user" | cfg_write "etc/sudoers.d/90-make-iso-${user}" 0440 ;;
    password) printf '%s ALL=(ALL) ALL\n' "$user" | cfg_write "etc/sudoers.d/90-make-iso-${user}" 0440 ;;
    none) log "sudo: none for ${user}" ;;
  esac
}

# cfg_ssh_keys: add the keys to the user's authorized_keys (dir 0700, file 0600, owned by the user).
cfg_ssh_keys() {
  ((${#MI_SSH_KEYS[@]})) || return 0
  local uid gid home key dir file
  read -r uid gid home < <(cfg_passwd_entry "$MI_USER_NAME") || die "user ${MI_USER_NAME} is missing from the installed /etc/passwd"
  [[ $home == /?* && $home != *..* ]] || die "user ${MI_USER_NAME} has an unusable home directory '${home}'"
  dir=$CFG_ROOT$home/.ssh
  file=$dir/authorized_keys
  mkdir -p -- "$dir"
  touch -- "$file"
  for key in "${MI_SSH_KEYS[@]}"; do
    grep -qxF -- "$key" "$file" || printf '%s\n' "$key" >>"$file"
  done
  chmod 0700 -- "$dir"
  chmod 0600 -- "$file"
  chown "$uid:$gid" -- "$CFG_ROOT$home" "$dir" "$file"
  log "wrote ${home}/.ssh/authorized_keys (${#MI_SSH_KEYS[@]} key(s))"
}

# cfg_proxy: proxy variables (lower and upper case) in /etc/environment, replacing older ones,
# and /etc/sysconfig/proxy (PROXY_ENABLED="yes"), as upstream's installer sets them.
cfg_proxy() {
  [[ -n $MI_HTTP_PROXY$MI_HTTPS_PROXY$MI_NO_PROXY ]] || return 0
  local env=$CFG_ROOT/etc/environment name value
  {
    if [[ -f $env ]]; then
      grep -vE '^(export )?(http_proxy|https_proxy|no_proxy|HTTP_PROXY|HTTPS_PROXY|NO_PROXY)=' -- "$env" || true
    fi
    for name in http_proxy https_proxy no_proxy; do
      case $name in
        http_proxy) value=$MI_HTTP_PROXY ;;
        https_proxy) value=$MI_HTTPS_PROXY ;;
        no_proxy) value=$MI_NO_PROXY ;;
      esac
      [[ -n $value ]] || continue
      printf '%s="%s"\n%s="%s"\n' "$name" "$value" "${name^^}" "$value"
    done
  } | cfg_write etc/environment 0644
  printf '# Written by the make-iso installer.\nPROXY_ENABLED="yes"\nHTTP_PROXY="%s"\nHTTPS_PROXY="%s"\nNO_PROXY="%s"\n' \
    "$MI_HTTP_PROXY" "$MI_HTTPS_PROXY" "$MI_NO_PROXY" | cfg_write etc/sysconfig/proxy 0644
}

# cfg_hostname: /etc/hostname, and the name on 127.0.1.1 in /etc/hosts so that it resolves
# (sudo warns otherwise); empty answer: keep the image's.
cfg_hostname() {
  [[ -n $MI_HOSTNAME ]] || return 0
  printf '%s\n' "$MI_HOSTNAME" | cfg_write etc/hostname 0644
  local hosts=$CFG_ROOT/etc/hosts
  {
    if [[ -f $hosts ]]; then grep -vE '^127\.0\.1\.1[[:blank:]]' -- "$hosts" || true; fi
    printf '127.0.1.1\t%s\n' "$MI_HOSTNAME"
  } | cfg_write etc/hosts 0644
}

# cfg_net_pick_interface: the interface to configure when none is named: the first ethernet
# interface with carrier; without carrier anywhere, the only ethernet interface; else fail.
# Prints "MAC NAME".
cfg_net_pick_interface() {
  local dir name carrier
  local -a ether=()
  for dir in "$SYS_CLASS_NET"/*; do
    name=${dir##*/}
    [[ -e $dir/device && $(<"$dir/type") == 1 ]] || continue
    ether+=("$name")
    carrier=$(cat -- "$dir/carrier" 2>/dev/null) || carrier=0
    if [[ $carrier == 1 ]]; then
      printf '%s %s\n' "$(<"$dir/address")" "$name"
      return 0
    fi
  done
  if ((${#ether[@]} == 1)); then
    printf '%s %s\n' "$(<"$SYS_CLASS_NET/${ether[0]}/address")" "${ether[0]}"
    return 0
  fi
  return 1
}

# cfg_network: static address as a systemd-networkd .network file (matched by name, or by the
# MAC of the interface picked now), configured with or without carrier (upstream's
# ignore-carrier); DNS servers with DHCP as a resolved.conf drop-in.
cfg_network() {
  local dns
  if [[ $MI_NET_MODE == static ]]; then
    local match mac name
    if [[ -n $MI_NET_INTERFACE ]]; then
      match="Name=${MI_NET_INTERFACE}"
    else
      read -r mac name < <(cfg_net_pick_interface) ||
        die "static network: no interface has carrier and there is more than one; name one in the answers (network.interface)"
      info "static network on ${name} (${mac})"
      match="MACAddress=${mac}"
    fi
    {
      printf '# Written by the make-iso installer.\n[Match]\n%s\n\n[Network]\nConfigureWithoutCarrier=yes\nIgnoreCarrierLoss=yes\nAddress=%s/%s\n' \
        "$match" "$MI_NET_ADDRESS" "$MI_NET_PREFIX"
      [[ -z $MI_NET_GATEWAY ]] || printf 'Gateway=%s\n' "$MI_NET_GATEWAY"
      for dns in "${MI_NET_DNS[@]}"; do printf 'DNS=%s\n' "$dns"; done
    } | cfg_write etc/systemd/network/10-make-iso-static.network 0644
  elif ((${#MI_NET_DNS[@]})); then
    printf '# Written by the make-iso installer.\n[Resolve]\nDNS=%s\n' "${MI_NET_DNS[*]}" |
      cfg_write etc/systemd/resolved.conf.d/90-make-iso-dns.conf 0644
  fi
  return 0
}

# cfg_ntp: the NTP servers go to cloud-init's ntp module (cfg_cloud_init), which configures the
# image's chronyd, as upstream does; EMT does not run systemd-timesyncd.
cfg_ntp() {
  ((${#MI_NTP_SERVERS[@]})) || return 0
  log "ntp: ${#MI_NTP_SERVERS[@]} server(s) through cloud-init's ntp module (chrony)"
}

# cfg_host_type MEDIA_DIR CONFIG_DIR RUN_DIR: the host type marker (kubernetes|container), then
# what the host type needs on the node (hosttype.sh).
cfg_host_type() {
  printf '%s\n' "$MI_HOST_TYPE" | cfg_write etc/make-iso/host-type 0644
  case $MI_HOST_TYPE in
    container) ht_container ;;
    kubernetes) ht_kubernetes "$1" "$2" "$3" ;;
  esac
}

# cfg_check_host_type MEDIA_DIR: the host type can be set up on this image and media (checked
# before the first write): container needs an engine in the image; kubernetes with a bundle needs
# edge_persistent and the bundle's files on the media. Needs CFG_ROOT mounted.
cfg_check_host_type() {
  local media=$1 entry
  local -a why=()
  case $MI_HOST_TYPE in
    container)
      [[ -n $(ht_container_engine) ]] ||
        why+=("hostType container needs a container engine (docker or containerd) in the OS image, which it lacks")
      ;;
    kubernetes)
      if [[ -n $MI_K3S_BUNDLE ]]; then
        [[ -n $PART_PERSISTENT ]] || why+=("hostType kubernetes needs an edge_persistent partition for k3s, which the OS image lacks")
        for entry in "${MI_K3S_SHA256S[@]}"; do
          [[ -f $media/$MI_K3S_BUNDLE/${entry#*  } ]] || why+=("the k3s bundle on the media lacks ${MI_K3S_BUNDLE}/${entry#*  }")
        done
      fi
      ;;
  esac
  command -v systemctl >/dev/null || why+=("the installer has no systemctl to enable the host type's units")
  ((${#why[@]} == 0)) || die "the host type cannot be set up: $(IFS=';' && printf '%s' "${why[*]}")"
}

# cfg_has_cloud_init: the installed image carries cloud-init (its /etc/cloud/cloud.cfg).
cfg_has_cloud_init() {
  [[ -f $CFG_ROOT/etc/cloud/cloud.cfg ]]
}

# cfg_cloud_init EXTRAS_FILE: force the NoCloud datasource as upstream does (ds-identify.cfg plus
# a seed in the image's /var, the lower layer of the node's tmpfs /var), so cloud-init runs at
# every boot; the extras (and NTP) as /etc/cloud/cloud.cfg.d/99-make-iso.cfg.
cfg_cloud_init() {
  local src=$1 seed=var/lib/cloud/seed/nocloud
  if ! cfg_has_cloud_init; then
    [[ $MI_CLOUD_INIT != yes ]] || die "the OS image has no cloud-init: the cloudInit answers cannot apply"
    ((${#MI_NTP_SERVERS[@]} == 0)) || die "the OS image has no cloud-init: the ntp answers cannot apply"
    log "cloud-init: not in the image"
    return 0
  fi
  printf '# Written by the make-iso installer: cloud-init runs with the NoCloud seed.\ndatasource: NoCloud\n' |
    cfg_write etc/cloud/ds-identify.cfg 0644
  printf 'instance-id: make-iso-%s\n' "${MI_OS_IMAGE_SHA256:0:16}" | cfg_write "$seed/meta-data" 0644
  printf '#cloud-config\n{}\n' | cfg_write "$seed/user-data" 0644
  printf '# Written by the make-iso installer.\n# The installer set the host name; cloud-init keeps it.\npreserve_hostname: true\n' |
    cfg_write etc/cloud/cloud.cfg.d/98-make-iso-base.cfg 0644
  if ((${#MI_NTP_SERVERS[@]})); then
    {
      printf '# Written by the make-iso installer.\nntp:\n  enabled: true\n  ntp_client: chrony\n  servers:\n'
      local server
      for server in "${MI_NTP_SERVERS[@]}"; do printf '    - "%s"\n' "$server"; done
    } | cfg_write etc/cloud/cloud.cfg.d/97-make-iso-ntp.cfg 0644
  fi
  [[ $MI_CLOUD_INIT == yes ]] || return 0
  [[ -r $src ]] || die "MI_CLOUD_INIT is yes but ${src} is missing from the installer"
  cfg_write etc/cloud/cloud.cfg.d/99-make-iso.cfg 0600 <"$src"
}

# cfg_check_image: every answer can take effect on the written image: the last guard, since the build
# and step 1 (check_image_needs) already refuse such answers from the image facts in install.env.
cfg_check_image() {
  local -a why=()
  if [[ $MI_CLOUD_INIT == yes ]] && ! cfg_has_cloud_init; then
    why+=("cloudInit answers need cloud-init, which the OS image lacks")
  fi
  if ((${#MI_NTP_SERVERS[@]})) && ! cfg_has_cloud_init; then
    why+=("ntp.servers needs cloud-init (its ntp module drives chrony), which the OS image lacks")
  fi
  if [[ -n $MI_USER_APPS_DIR && -z $PART_PERSISTENT ]]; then
    why+=("userAppsDir needs an edge_persistent partition, which the OS image lacks")
  fi
  ((${#why[@]} == 0)) || die "answers that cannot apply to this OS image: $(IFS=';' && printf '%s' "${why[*]}")"
}

# cfg_hugepages: the number of 2 MiB hugepages as a sysctl.d file.
cfg_hugepages() {
  ((MI_HUGEPAGES > 0)) || return 0
  printf '# Written by the make-iso installer.\nvm.nr_hugepages = %s\n' "$MI_HUGEPAGES" |
    cfg_write etc/sysctl.d/90-make-iso-hugepages.conf 0644
}

# cfg_user_apps MEDIA_DIR RUN_DIR: copy the media's user-apps directory onto edge_persistent
# (the node's /opt), as user-apps/. An empty or absent directory on the media gives an empty one.
cfg_user_apps() {
  local media=$1 dir=$2/persistent
  [[ -n $MI_USER_APPS_DIR ]] || return 0
  [[ -n $PART_PERSISTENT ]] || die "userAppsDir needs an edge_persistent partition, which the OS image lacks"
  guard_write "$PART_PERSISTENT"
  mkdir -p -- "$dir"
  run mount -- "$PART_PERSISTENT" "$dir" || die "cannot mount edge_persistent ${PART_PERSISTENT}"
  mkdir -p -- "$dir/user-apps"
  if [[ -d $media/$MI_USER_APPS_DIR ]]; then
    run cp -R -- "$media/$MI_USER_APPS_DIR/." "$dir/user-apps/" || { run umount -- "$dir"; die "cannot copy the user apps onto edge_persistent"; }
  else
    info "the user apps directory is empty"
  fi
  log "wrote /opt/user-apps on edge_persistent ($(du -sh -- "$dir/user-apps" | cut -f1))"
  run sync
  run umount -- "$dir" || die "cannot unmount edge_persistent"
}

# cfg_marker DISK: record what was installed, when and by which make-iso.
cfg_marker() {
  printf 'version=%s\nimage=%s\nimage_sha256=%s\ndisk=%s\ninstalled=%(%FT%TZ)T\n' \
    "$MI_VERSION" "$MI_OS_IMAGE" "$MI_OS_IMAGE_SHA256" "$1" -1 | cfg_write etc/make-iso/installed 0644
}

# cfg_copy_log: copy the installer log onto the installed disk.
cfg_copy_log() {
  ((CFG_MOUNTED)) || return 0
  cfg_write var/log/make-iso-installer.log 0600 <"$MI_LOG_FILE"
}

# lvm_free_region SIZE_MIB: from `parted -s -m DISK unit MiB print free` on stdin, print
# "START END" (whole MiB) for a SIZE_MIB partition at the start of the last free region.
lvm_free_region() {
  local size=$1 line start end last=''
  local -a f=()
  while IFS= read -r line; do
    [[ $line == *:free\; ]] || continue
    IFS=: read -r -a f <<<"${line%;}"
    last="${f[1]%MiB} ${f[2]%MiB}"
  done
  [[ -n $last ]] || return 1
  read -r start end <<<"$last"
  if [[ $start == *.* ]]; then
    start=${start%%.*}
    start=$((start + 1))
  fi
  end=${end%%.*}
  ((end - start >= size)) || return 1
  printf '%s %s\n' "$start" $((start + size))
}

# lvm_create DISK RUN_DIR: a partition of MI_LVM_SIZE_GIB after the image, an LVM physical
# volume on it and the volume group "lvmvg" (left inactive for the first boot).
lvm_create() {
  local disk=$1 run_dir=$2 start end part
  guard_write "$disk"
  read -r start end < <(parted -s -m -- "$disk" unit MiB print free | lvm_free_region $((MI_LVM_SIZE_GIB * 1024))) ||
    die "no ${MI_LVM_SIZE_GIB} GiB of free space after the image on ${disk} for the LVM volume group"
  run parted -s -a optimal -- "$disk" unit MiB mkpart make-iso-lvm "$start" "$end" || die "cannot create the LVM partition"
  image_reread "$disk"
  image_partition_records "$disk" >"$run_dir/partitions-lvm.txt"
  part=$(disks_part_by_label "$run_dir/partitions-lvm.txt" make-iso-lvm) || die "cannot find the new LVM partition"
  guard_write "$part"
  run pvcreate -ff -y -- "$part" || die "pvcreate failed on ${part}"
  run vgcreate -- lvmvg "$part" || die "vgcreate lvmvg failed on ${part} (does another disk hold a volume group lvmvg?)"
  run vgchange -an -- lvmvg || true
  info "LVM: volume group lvmvg on ${part} (${MI_LVM_SIZE_GIB} GiB)"
}
