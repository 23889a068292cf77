#!/usr/bin/env bash
# make-iso on the installed node (hostType kubernetes), run by make-iso-k3s.service at every boot:
# checks the k3s air-gap bundle on edge_persistent, puts the binary, the air-gap images and the
# user apps' images and manifests in place, installs k3s with the bundle's install.sh (no
# download) when the bundle or the arguments changed, starts it, waits for the node to be Ready,
# gives the user a kubeconfig, and says on the console whether the cluster is up and if not, why.
# Every step is idempotent: the node's /var is tmpfs, /opt and /etc/rancher persist.
set -euo pipefail
export PATH=${MI_K3S_PATH:-/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin}

BASE=${MI_K3S_BASE:-/opt/make-iso}
ENV_FILE=${MI_K3S_ENV:-/etc/make-iso/k3s.env}
CONSOLE=${MI_K3S_CONSOLE:-/dev/console}
WAIT_SECONDS=${MI_K3S_WAIT_SECONDS:-900}
USER_APPS=${MI_K3S_USER_APPS:-/opt/user-apps}
BUNDLE=$BASE/k3s-bundle
BIN=$BASE/k3s/bin
STAMP=$BASE/k3s/installed
K3S_UNIT_FILE=${MI_K3S_UNIT_FILE:-/etc/systemd/system/k3s.service}
K3S_USER='' K3S_DATA_DIR=/opt/rancher/k3s
K3S_EXTRA_ARGS=()

# say TEXT: a status line for the journal (stderr) and the console.
say() {
  printf 'MAKE-ISO-K3S: %s\n' "$*" >&2
  printf 'MAKE-ISO-K3S: %s\n' "$*" >>"$CONSOLE" 2>/dev/null || true
}
fail() {
  say "FAILED: $*"
  exit 1
}

# verify_bundle: every file of the bundle matches the sha256 the build checked.
verify_bundle() {
  [[ -f $BUNDLE/SHA256SUMS ]] || fail "no k3s bundle on edge_persistent (${BUNDLE}/SHA256SUMS missing)"
  (cd "$BUNDLE" && sha256sum --quiet --strict -c SHA256SUMS) >/dev/null 2>&1 ||
    fail "the k3s bundle in ${BUNDLE} does not match its checksums (SHA256SUMS)"
}

# copy_if_changed SRC DEST MODE: install SRC as DEST unless DEST already holds the same bytes.
copy_if_changed() {
  if ! cmp -s -- "$1" "$2"; then
    install -D -m "$3" -- "$1" "$2"
    echo "make-iso-k3s: installed $2"
  fi
}

# place_files: k3s and its links, the air-gap images, the user apps' images and manifests.
place_files() {
  local f name
  copy_if_changed "$BUNDLE/k3s" "$BIN/k3s" 0755
  for name in kubectl crictl ctr; do ln -sfn k3s "$BIN/$name"; done
  for f in "$BUNDLE"/k3s-airgap-images-*; do
    [[ -f $f ]] && copy_if_changed "$f" "$K3S_DATA_DIR/agent/images/${f##*/}" 0644
  done
  for f in "$USER_APPS"/images/*.tar "$USER_APPS"/images/*.tar.gz "$USER_APPS"/images/*.tar.zst; do
    [[ -f $f ]] && copy_if_changed "$f" "$K3S_DATA_DIR/agent/images/${f##*/}" 0644
  done
  for f in "$USER_APPS"/manifests/*.yaml "$USER_APPS"/manifests/*.yml; do
    [[ -f $f ]] && copy_if_changed "$f" "$K3S_DATA_DIR/server/manifests/${f##*/}" 0644
  done
  return 0
}

# install_k3s: run the bundle's install.sh (air-gapped: no download, binary from BIN) when the
# bundle or the arguments changed since the last run, or k3s.service is gone.
install_k3s() {
  local want rc=0
  want="$(cat "$BUNDLE/SHA256SUMS") ${K3S_EXTRA_ARGS[*]}"
  if [[ -f $K3S_UNIT_FILE && -f $STAMP && $(<"$STAMP") == "$want" ]]; then
    return 0
  fi
  say "installing k3s from the air-gap bundle"
  INSTALL_K3S_SKIP_DOWNLOAD=true INSTALL_K3S_BIN_DIR="$BIN" INSTALL_K3S_SKIP_START=true \
    INSTALL_K3S_SKIP_SELINUX_RPM=true INSTALL_K3S_SELINUX_WARN=true \
    INSTALL_K3S_EXEC="server${K3S_EXTRA_ARGS[*]:+ ${K3S_EXTRA_ARGS[*]}}" \
    sh "$BUNDLE/install.sh" || rc=$?
  ((rc == 0)) || fail "the bundle's install.sh exited ${rc} (journalctl -u make-iso-k3s)"
  printf '%s' "$want" >"$STAMP"
}

# wait_ready: the node line once `kubectl get nodes` says Ready; fails after WAIT_SECONDS.
wait_ready() {
  local deadline=$((SECONDS + WAIT_SECONDS)) line
  while ((SECONDS < deadline)); do
    line=$("$BIN/k3s" kubectl get nodes --no-headers 2>/dev/null | grep -m1 -E '[[:space:]]Ready[[:space:]]') || line=''
    if [[ -n $line ]]; then
      printf '%s\n' "$line" | tr -s ' '
      return 0
    fi
    if systemctl is-failed --quiet k3s.service; then
      fail "k3s.service failed: $(journalctl -u k3s.service -n 3 -o cat --no-pager 2>/dev/null | tr '\n' ' ')"
    fi
    sleep 5
  done
  fail "the node is not Ready after ${WAIT_SECONDS} s (k3s.service $(systemctl is-active k3s.service 2>/dev/null || true))"
}

# user_kubeconfig: the cluster's kubeconfig as the user's ~/.kube/config (0600, theirs).
user_kubeconfig() {
  local src=/etc/rancher/k3s/k3s.yaml home
  [[ -n $K3S_USER && -f $src ]] || return 0
  home=$(getent passwd "$K3S_USER" | cut -d: -f6) || return 0
  [[ -d $home ]] || return 0
  install -d -m 0700 -o "$K3S_USER" -g "$(id -gn "$K3S_USER")" -- "$home/.kube"
  install -m 0600 -o "$K3S_USER" -g "$(id -gn "$K3S_USER")" -- "$src" "$home/.kube/config"
}

main() {
  # shellcheck source=/dev/null
  [[ -r $ENV_FILE ]] && source "$ENV_FILE"
  # (the answers and the installer keep it under /opt)
  [[ $K3S_DATA_DIR == /?* && $K3S_DATA_DIR != *..* ]] || fail "the k3s data dir '${K3S_DATA_DIR}' is not an absolute path"
  verify_bundle
  place_files
  install_k3s
  systemctl daemon-reload
  systemctl start --no-block k3s.service || fail "cannot start k3s.service"
  local line
  line=$(wait_ready)
  user_kubeconfig
  say "cluster up: ${line}"
}

main "$@"
