#!/usr/bin/env bash
# The host type on the installed node (docs/host-types.md). container: the engine the image ships
# (docker, else containerd) enabled, its data root on edge_persistent (/opt), the user in the
# docker group, the proxy for the daemon and the user's docker client. kubernetes: the k3s air-gap
# bundle copied onto edge_persistent and checked, k3s's config and registry mirrors, and the
# make-iso-k3s.service that installs and starts k3s at every boot (node/k3s-up.sh).
# Everything is written into the installed root (CFG_ROOT) or edge_persistent, before the first boot.
# shellcheck disable=SC2034 # globals set here are read by installer.sh and the other libraries

MI_NODE_DIR=${MI_NODE_DIR:-$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/../node}
HT_DOCKER_DATA_ROOT=/opt/docker-data
HT_CONTAINERD_ROOT=/opt/containerd-data
HT_K3S_BASE=make-iso
HT_K3S_UNIT=make-iso-k3s.service

# ht_unit_file UNIT: print the path (under CFG_ROOT) of UNIT's file in the installed image.
ht_unit_file() {
  local d
  for d in etc/systemd/system usr/lib/systemd/system lib/systemd/system; do
    if [[ -f $CFG_ROOT/$d/$1 ]]; then
      printf '%s\n' "$CFG_ROOT/$d/$1"
      return 0
    fi
  done
  return 1
}

# ht_container_engine: print `docker` or `containerd`, the engine the installed image ships; nothing when none.
ht_container_engine() {
  local b
  for b in usr/bin/dockerd usr/sbin/dockerd; do
    if [[ -x $CFG_ROOT/$b ]] && ht_unit_file docker.service >/dev/null; then
      printf 'docker\n'
      return 0
    fi
  done
  if [[ -x $CFG_ROOT/usr/bin/containerd ]] && ht_unit_file containerd.service >/dev/null; then
    printf 'containerd\n'
  fi
  return 0
}

# ht_json_str VALUE: VALUE as a JSON string (the values are checked plain text: no control characters).
ht_json_str() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  printf '"%s"' "$s"
}

# ht_enable UNIT...: enable units in the installed image (links under /etc/systemd/system).
ht_enable() {
  run systemctl --root="$CFG_ROOT" --quiet enable -- "$@" || die "cannot enable $* in the installed system"
  log "enabled $* in the installed system"
}

# ht_proxy_dropin UNIT: the answers' proxy as Environment= of UNIT (a drop-in), when there is one.
ht_proxy_dropin() {
  [[ -n $MI_HTTP_PROXY$MI_HTTPS_PROXY$MI_NO_PROXY ]] || return 0
  local unit=$1 name value
  {
    printf '# Written by the make-iso installer: the proxy of the answers.\n[Service]\n'
    for name in HTTP_PROXY HTTPS_PROXY NO_PROXY; do
      case $name in
        HTTP_PROXY) value=$MI_HTTP_PROXY ;;
        HTTPS_PROXY) value=$MI_HTTPS_PROXY ;;
        NO_PROXY) value=$MI_NO_PROXY ;;
      esac
      [[ -n $value ]] || continue
      value=${value//%/%%}
      printf 'Environment="%s=%s" "%s=%s"\n' "$name" "$value" "${name,,}" "$value"
    done
  } | cfg_write "etc/systemd/system/${unit}.d/10-make-iso-proxy.conf" 0644
}

# ht_docker_client_proxy: the proxy in the user's ~/.docker/config.json (docker's client passes it to builds and containers).
ht_docker_client_proxy() {
  [[ -n $MI_HTTP_PROXY$MI_HTTPS_PROXY$MI_NO_PROXY ]] || return 0
  local uid gid home dir
  read -r uid gid home < <(cfg_passwd_entry "$MI_USER_NAME") || die "user ${MI_USER_NAME} is missing from the installed /etc/passwd"
  dir=$CFG_ROOT$home/.docker
  mkdir -p -- "$dir"
  printf '{\n  "proxies": {\n    "default": {\n      "httpProxy": %s,\n      "httpsProxy": %s,\n      "noProxy": %s\n    }\n  }\n}\n' \
    "$(ht_json_str "$MI_HTTP_PROXY")" "$(ht_json_str "$MI_HTTPS_PROXY")" "$(ht_json_str "$MI_NO_PROXY")" |
    cfg_write "${home#/}/.docker/config.json" 0600
  chmod 0700 -- "$dir"
  chown "$uid:$gid" -- "$dir" "$dir/config.json"
}

# ht_docker: docker enabled with data-root on /opt, the user in the docker group, the proxy.
ht_docker() {
  local conf=$CFG_ROOT/etc/docker/daemon.json
  if [[ -s $conf ]] && grep -q '[^[:space:]{}]' -- "$conf"; then
    cp -- "$conf" "$conf.image"
    info "the image's /etc/docker/daemon.json is replaced (kept as daemon.json.image)"
  fi
  printf '{\n  "data-root": %s\n}\n' "$(ht_json_str "$HT_DOCKER_DATA_ROOT")" | cfg_write etc/docker/daemon.json 0644
  grep -q '^docker:' "$CFG_ROOT/etc/group" || run groupadd --root "$CFG_ROOT" --system docker ||
    die "cannot create the docker group in the installed system"
  run usermod --root "$CFG_ROOT" --append --groups docker -- "$MI_USER_NAME" ||
    die "cannot add ${MI_USER_NAME} to the docker group"
  log "${MI_USER_NAME} is in the docker group"
  ht_proxy_dropin docker.service
  ht_proxy_dropin containerd.service
  ht_docker_client_proxy
  local -a units=(docker.service)
  if ht_unit_file docker.socket >/dev/null; then units+=(docker.socket); fi
  if ht_unit_file containerd.service >/dev/null; then units+=(containerd.service); fi
  ht_enable "${units[@]}"
  info "container host: docker enabled, data root ${HT_DOCKER_DATA_ROOT}"
}

# ht_containerd: containerd enabled with its root on /opt, the proxy (nerdctl talks to it as root).
ht_containerd() {
  local conf=$CFG_ROOT/etc/containerd/config.toml
  {
    if [[ -f $conf ]]; then
      printf 'root = "%s"\n' "$HT_CONTAINERD_ROOT"
      grep -vE '^root[[:blank:]]*=' -- "$conf" || true
    else
      printf '# Written by the make-iso installer.\nversion = 2\nroot = "%s"\n' "$HT_CONTAINERD_ROOT"
    fi
  } | cfg_write etc/containerd/config.toml 0644
  ht_proxy_dropin containerd.service
  ht_enable containerd.service
  info "container host: containerd enabled, root ${HT_CONTAINERD_ROOT}"
}

# ht_container: set up the engine the image ships (cfg_check_host_type made sure there is one).
ht_container() {
  case $(ht_container_engine) in
    docker) ht_docker ;;
    containerd) ht_containerd ;;
    *) die "hostType container: the OS image ships no container engine (docker or containerd)" ;;
  esac
}

# ht_k3s_persistent MEDIA_DIR DIR: the bundle's files onto edge_persistent (mounted at DIR) as
# make-iso/k3s-bundle/, each checked against its sha256, plus SHA256SUMS and the boot script.
ht_k3s_persistent() {
  local media=$1 dir=$2 entry sum name dest
  local bundle=$dir/$HT_K3S_BASE/k3s-bundle
  mkdir -p -- "$bundle"
  for entry in "${MI_K3S_SHA256S[@]}"; do
    sum=${entry%%  *}
    name=${entry#*  }
    dest=$bundle/$name
    [[ -f $media/$MI_K3S_BUNDLE/$name ]] || die "the k3s bundle on the media lacks ${name} (${MI_K3S_BUNDLE}/${name})"
    run cp -- "$media/$MI_K3S_BUNDLE/$name" "$dest" || die "cannot copy ${name} of the k3s bundle onto edge_persistent"
    [[ $(sha256sum -- "$dest" | cut -d' ' -f1) == "$sum" ]] || die "k3s bundle: ${name} on edge_persistent does not match its sha256 (bad media?)"
  done
  printf '%s\n' "${MI_K3S_SHA256S[@]}" >"$bundle/SHA256SUMS"
  install -m 0755 -- "$MI_NODE_DIR/k3s-up.sh" "$dir/$HT_K3S_BASE/k3s-up.sh"
  log "wrote /opt/${HT_K3S_BASE}/k3s-bundle on edge_persistent (${#MI_K3S_SHA256S[@]} files, checksums ok) and /opt/${HT_K3S_BASE}/k3s-up.sh"
}

# ht_kubernetes MEDIA_DIR CONFIG_DIR RUN_DIR: the bundle onto edge_persistent, k3s's config,
# registries, proxy, the boot unit and the user's environment into the installed root.
ht_kubernetes() {
  local media=$1 confdir=$2 dir=$3/persistent
  if [[ -z $MI_K3S_BUNDLE ]]; then
    info "hostType kubernetes without a k3s bundle: k3s is not set up on this node"
    return 0
  fi
  guard_write "$PART_PERSISTENT"
  mkdir -p -- "$dir"
  run mount -- "$PART_PERSISTENT" "$dir" || die "cannot mount edge_persistent ${PART_PERSISTENT}"
  ht_k3s_persistent "$media" "$dir" || { run umount -- "$dir"; die "cannot put the k3s bundle on edge_persistent"; }
  run sync
  run umount -- "$dir" || die "cannot unmount edge_persistent"
  [[ -r $confdir/k3s-config.yaml ]] || die "MI_K3S_BUNDLE is set but ${confdir}/k3s-config.yaml is missing from the installer"
  cfg_write etc/rancher/k3s/config.yaml 0600 <"$confdir/k3s-config.yaml"
  if [[ -r $confdir/k3s-registries.yaml ]]; then
    cfg_write etc/rancher/k3s/registries.yaml 0600 <"$confdir/k3s-registries.yaml"
  fi
  {
    printf '# Written by the make-iso installer: read by /opt/%s/k3s-up.sh.\n' "$HT_K3S_BASE"
    printf "K3S_USER='%s'\nK3S_DATA_DIR='%s'\nK3S_EXTRA_ARGS=(" "$MI_USER_NAME" "$MI_K3S_DATA_DIR"
    local a
    for a in "${MI_K3S_EXTRA_ARGS[@]}"; do printf " '%s'" "$a"; done
    printf ' )\n'
  } | cfg_write etc/make-iso/k3s.env 0644
  printf '# Written by the make-iso installer: the proxy (and /etc/environment) for k3s.\n[Service]\nEnvironmentFile=-/etc/environment\n' |
    cfg_write etc/systemd/system/k3s.service.d/10-make-iso-env.conf 0644
  cfg_write "etc/systemd/system/${HT_K3S_UNIT}" 0644 <"$MI_NODE_DIR/${HT_K3S_UNIT}"
  # shellcheck disable=SC2016 # $PATH and $HOME expand in the user's shell, not here
  printf '# Written by the make-iso installer: kubectl and the cluster of this node.\nexport PATH="$PATH:/opt/%s/k3s/bin"\nexport KUBECONFIG="$HOME/.kube/config"\n' "$HT_K3S_BASE" |
    cfg_write etc/profile.d/make-iso-k3s.sh 0644
  ht_enable "$HT_K3S_UNIT"
  info "kubernetes host: k3s is installed air-gapped at the first boot (data dir ${MI_K3S_DATA_DIR})"
}
