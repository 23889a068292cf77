#!/usr/bin/env bash
# Reads the installer's inputs: /etc/make-iso/install.env (single-quoted data, checked to hold
# nothing but assignments of known keys before it is sourced; never eval'd) and the kernel
# command line (makeiso.volid=, makeiso.plan=1, makeiso.debug=1). Pure: no device is touched.
# shellcheck disable=SC2034 # globals set here are read by installer.sh and the other libraries
# shellcheck source=installer-scripts/lib/facts.sh
source "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/facts.sh"

CONFIG_SCALARS=(
  MI_VERSION MI_OS_IMAGE MI_OS_IMAGE_SHA256 MI_USER_NAME MI_USER_PASSWORD_HASH MI_HOSTNAME
  MI_HTTP_PROXY MI_HTTPS_PROXY MI_NO_PROXY MI_NET_MODE MI_NET_INTERFACE MI_NET_ADDRESS
  MI_NET_PREFIX MI_NET_GATEWAY MI_HOST_TYPE MI_LVM_SIZE_GIB MI_HUGEPAGES MI_DISK_MATCH
  MI_DISK_PICK MI_DISK_MIN_GIB MI_DISK_MAX_GIB MI_DISK_ROTATIONAL MI_DISK_WIPE_EXISTING
  MI_AFTER_INSTALL MI_CLOUD_INIT MI_USER_APPS_DIR MI_USER_SUDO MI_PERSISTENT_SIZE_GIB MI_K3S_BUNDLE
  MI_K3S_DATA_DIR MI_IMAGE_CLOUD_INIT MI_IMAGE_CHRONY MI_IMAGE_SUDO MI_IMAGE_SSHD MI_IMAGE_PERSISTENT
  MI_IMAGE_CONTAINER_ENGINE MI_IMAGE_RAW_BYTES MI_IMAGE_RAW_SHA256
)
CONFIG_IMAGE_NEEDS_FILE=$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/../image-needs.tsv
CONFIG_ARRAYS=(
  MI_SSH_KEYS MI_NET_DNS MI_NTP_SERVERS MI_DISK_BY_ID MI_DISK_BY_PATH MI_DISK_SERIAL
  MI_DISK_WWN MI_DISK_MODEL MI_DISK_TRANSPORT MI_K3S_SHA256S MI_K3S_EXTRA_ARGS MI_IMAGE_EXT4
)
CONFIG_ERRORS=()

# config_kind KEY: prints "scalar", "array" or nothing for an unknown key.
config_kind() {
  local key=$1 k
  for k in "${CONFIG_SCALARS[@]}"; do [[ $k == "$key" ]] && { printf 'scalar'; return 0; }; done
  for k in "${CONFIG_ARRAYS[@]}"; do [[ $k == "$key" ]] && { printf 'array'; return 0; }; done
  return 0
}

# config_check_syntax FILE: succeeds only when the file holds nothing but comments, blank lines,
# KEY='...' and KEY=('...' '...') for known keys, each value made only of '...' and \' pieces.
# Sourcing such a file can only assign data, whatever the values contain ($(), `, ;, newlines).
config_check_syntax() {
  local file=$1 text nl=$'\n' line=1 key kind consumed
  text=$(<"$file") || return 1
  local word="(('[^']*')|\\\\')+"
  local ws="[[:blank:]${nl}]"
  local re_blank="^[[:blank:]]*(#[^${nl}]*)?(${nl}|\$)"
  local re_scalar="^([A-Z][A-Z0-9_]*)=(${word})?[[:blank:]]*(${nl}|\$)"
  local re_array="^([A-Z][A-Z0-9_]*)=\\((${ws}*${word}(${ws}+${word})*)?${ws}*\\)[[:blank:]]*(${nl}|\$)"
  while [[ -n $text ]]; do
    if [[ $text =~ $re_blank ]]; then
      kind=blank
    elif [[ $text =~ $re_scalar ]]; then
      kind=scalar
    elif [[ $text =~ $re_array ]]; then
      kind=array
    else
      CONFIG_ERRORS+=("${file}:${line}: not a single-quoted KEY='value' or KEY=('a' 'b') assignment")
      return 1
    fi
    consumed=${BASH_REMATCH[0]}
    if [[ $kind != blank ]]; then
      key=${BASH_REMATCH[1]}
      if [[ $(config_kind "$key") != "$kind" ]]; then
        CONFIG_ERRORS+=("${file}:${line}: ${key} is not a known ${kind} key")
        return 1
      fi
    fi
    [[ -n $consumed ]] || return 1
    local only_nl=${consumed//[!$'\n']/}
    line=$((line + ${#only_nl}))
    text=${text:${#consumed}}
  done
  return 0
}

# config_load FILE: check, then source the file (every key starts empty so none can leak in
# from the environment), then validate the values. Fails listing every problem.
config_load() {
  local file=$1 k
  CONFIG_ERRORS=()
  [[ -r $file ]] || { CONFIG_ERRORS+=("${file}: cannot read the install configuration"); return 1; }
  config_check_syntax "$file" || return 1
  for k in "${CONFIG_SCALARS[@]}"; do printf -v "$k" '%s' ''; done
  for k in "${CONFIG_ARRAYS[@]}"; do
    unset -v "$k"
    declare -g -a "$k"
  done
  # shellcheck source=/dev/null
  source "$file"
  config_validate
}

# config_err KEY MESSAGE: remember one problem.
config_err() { CONFIG_ERRORS+=("$1: $2"); }

# config_enum KEY VALUE ALLOWED...: VALUE must be one of ALLOWED.
config_enum() {
  local key=$1 value=$2 a
  shift 2
  for a in "$@"; do [[ $value == "$a" ]] && return 0; done
  config_err "$key" "must be one of: $* (got '${value}')"
}

# config_int KEY VALUE [empty-ok]: VALUE must be a non-negative integer (or empty).
config_int() {
  local key=$1 value=$2 empty_ok=${3:-}
  [[ -z $value && -n $empty_ok ]] && return 0
  [[ $value =~ ^[0-9]{1,9}$ ]] || config_err "$key" "must be a whole number (got '${value}')"
}

# config_plain KEY VALUE: no control characters, quotes or backslashes (values that end up in
# files such as /etc/environment with their own quoting rules).
config_plain() {
  local key=$1 value=$2
  [[ $value == *[[:cntrl:]\"\\]* ]] && config_err "$key" "must not contain quotes, backslashes or control characters"
  return 0
}

# config_validate: check every value's form; fill CONFIG_ERRORS and fail when any is wrong.
config_validate() {
  local v
  [[ $MI_OS_IMAGE =~ ^[A-Za-z0-9._/+-]+$ && $MI_OS_IMAGE != /* && $MI_OS_IMAGE != *..* ]] ||
    config_err MI_OS_IMAGE "must be a path relative to the media root without '..' (got '${MI_OS_IMAGE}')"
  [[ $MI_OS_IMAGE_SHA256 =~ ^[0-9a-f]{64}$ ]] || config_err MI_OS_IMAGE_SHA256 "must be 64 lowercase hex digits"
  [[ $MI_USER_NAME =~ ^[a-z_][a-z0-9_-]{0,31}$ ]] || config_err MI_USER_NAME "must be a lowercase user name (got '${MI_USER_NAME}')"
  ! fact_in "$MI_USER_NAME" "${FACT_RESERVED_USERS[@]}" || config_err MI_USER_NAME "'${MI_USER_NAME}' is a system account"
  # shellcheck disable=SC2016 # a regex, not an expansion
  local re_hash='^\$6\$(rounds=[0-9]{4,9}\$)?[^$:[:space:]]{1,16}\$[./0-9A-Za-z]{86}$'
  [[ -z $MI_USER_PASSWORD_HASH || $MI_USER_PASSWORD_HASH =~ $re_hash ]] ||
    config_err MI_USER_PASSWORD_HASH "must be a SHA-512 crypt hash (\$6\$...)"
  local re_key=$'^(ssh-|ecdsa-|sk-)[A-Za-z0-9@.-]+ [A-Za-z0-9+/]+={0,2}( [^\r\n]*)?$'
  for v in "${MI_SSH_KEYS[@]}"; do
    [[ $v =~ $re_key ]] || config_err MI_SSH_KEYS "not an OpenSSH public key line: '${v:0:40}'"
  done
  if [[ -z $MI_USER_PASSWORD_HASH ]] && ((${#MI_SSH_KEYS[@]} == 0)); then
    config_err MI_USER_PASSWORD_HASH "empty and no MI_SSH_KEYS: nobody could log in"
  fi
  [[ -z $MI_HOSTNAME || $MI_HOSTNAME =~ ^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$ ]] ||
    config_err MI_HOSTNAME "not a valid host name (got '${MI_HOSTNAME}')"
  config_plain MI_HTTP_PROXY "$MI_HTTP_PROXY"
  config_plain MI_HTTPS_PROXY "$MI_HTTPS_PROXY"
  config_plain MI_NO_PROXY "$MI_NO_PROXY"
  config_enum MI_NET_MODE "$MI_NET_MODE" dhcp static
  [[ -z $MI_NET_INTERFACE || $MI_NET_INTERFACE =~ ^[A-Za-z0-9_.:-]{1,15}$ ]] || config_err MI_NET_INTERFACE "not an interface name"
  if [[ $MI_NET_MODE == static ]]; then
    [[ $MI_NET_ADDRESS =~ ^[0-9A-Fa-f:.]+$ ]] || config_err MI_NET_ADDRESS "must be an IPv4 or IPv6 address for a static network"
    [[ $MI_NET_PREFIX =~ ^[0-9]{1,3}$ ]] || config_err MI_NET_PREFIX "must be a prefix length for a static network"
  fi
  [[ -z $MI_NET_GATEWAY || $MI_NET_GATEWAY =~ ^[0-9A-Fa-f:.]+$ ]] || config_err MI_NET_GATEWAY "not an IP address"
  for v in "${MI_NET_DNS[@]}"; do [[ $v =~ ^[0-9A-Fa-f:.]+$ ]] || config_err MI_NET_DNS "not an IP address: '${v}'"; done
  for v in "${MI_NTP_SERVERS[@]}"; do [[ $v =~ ^[A-Za-z0-9._:-]+$ ]] || config_err MI_NTP_SERVERS "not a host name or address: '${v}'"; done
  config_enum MI_HOST_TYPE "$MI_HOST_TYPE" kubernetes container
  config_int MI_LVM_SIZE_GIB "$MI_LVM_SIZE_GIB"
  config_int MI_HUGEPAGES "$MI_HUGEPAGES"
  config_enum MI_DISK_MATCH "$MI_DISK_MATCH" any all
  config_enum MI_DISK_PICK "$MI_DISK_PICK" smallest largest
  for v in "${MI_DISK_TRANSPORT[@]}"; do config_enum MI_DISK_TRANSPORT "$v" "${FACT_DISK_TRANSPORTS[@]}"; done
  config_int MI_DISK_MIN_GIB "$MI_DISK_MIN_GIB" empty-ok
  config_int MI_DISK_MAX_GIB "$MI_DISK_MAX_GIB" empty-ok
  config_enum MI_DISK_ROTATIONAL "$MI_DISK_ROTATIONAL" yes no ''
  config_enum MI_DISK_WIPE_EXISTING "$MI_DISK_WIPE_EXISTING" yes no
  config_enum MI_AFTER_INSTALL "$MI_AFTER_INSTALL" reboot poweroff stay
  config_enum MI_CLOUD_INIT "$MI_CLOUD_INIT" yes no
  config_enum MI_USER_SUDO "$MI_USER_SUDO" nopasswd password none
  if [[ $MI_USER_SUDO == password && -z $MI_USER_PASSWORD_HASH ]]; then
    config_err MI_USER_SUDO "password needs MI_USER_PASSWORD_HASH: a key-only user could never type one"
  fi
  config_int MI_PERSISTENT_SIZE_GIB "$MI_PERSISTENT_SIZE_GIB" empty-ok
  for v in MI_IMAGE_CLOUD_INIT MI_IMAGE_CHRONY MI_IMAGE_SUDO MI_IMAGE_SSHD MI_IMAGE_PERSISTENT; do
    config_enum "$v" "${!v}" yes no ''
  done
  [[ -z $MI_IMAGE_RAW_BYTES || $MI_IMAGE_RAW_BYTES =~ ^[1-9][0-9]{0,15}$ ]] ||
    config_err MI_IMAGE_RAW_BYTES "must be a byte count (got '${MI_IMAGE_RAW_BYTES:0:40}')"
  [[ -z $MI_IMAGE_RAW_SHA256 || $MI_IMAGE_RAW_SHA256 =~ ^[0-9a-f]{64}$ ]] || config_err MI_IMAGE_RAW_SHA256 "not a sha256"
  [[ -n $MI_IMAGE_RAW_SHA256 || -z $MI_IMAGE_RAW_BYTES ]] || config_err MI_IMAGE_RAW_SHA256 "empty with MI_IMAGE_RAW_BYTES set"
  [[ -z $MI_IMAGE_RAW_SHA256 || -n $MI_IMAGE_RAW_BYTES ]] || config_err MI_IMAGE_RAW_BYTES "empty with MI_IMAGE_RAW_SHA256 set"
  for v in "${MI_IMAGE_EXT4[@]}"; do
    [[ $v =~ ^[0-9]+\ [0-9]+\ [0-9]+\ .+$ ]] || config_err MI_IMAGE_EXT4 "not 'START INCOMPAT RO_COMPAT NAME': '${v:0:80}'"
  done
  [[ -z $MI_USER_APPS_DIR || ($MI_USER_APPS_DIR =~ ^[A-Za-z0-9._/+-]+$ && $MI_USER_APPS_DIR != *..*) ]] ||
    config_err MI_USER_APPS_DIR "must be a path on the media without '..'"
  [[ -z $MI_K3S_BUNDLE || ($MI_K3S_BUNDLE =~ ^[A-Za-z0-9._/+-]+$ && $MI_K3S_BUNDLE != *..*) ]] ||
    config_err MI_K3S_BUNDLE "must be a path on the media without '..'"
  for v in "${MI_K3S_SHA256S[@]}"; do
    [[ $v =~ ^[0-9a-f]{64}\ \ [A-Za-z0-9._+-]+$ ]] || config_err MI_K3S_SHA256S "not '<sha256>  <name>': '${v:0:80}'"
  done
  [[ -z $MI_K3S_DATA_DIR || ($MI_K3S_DATA_DIR =~ ^/opt/[A-Za-z0-9._/-]+$ && $MI_K3S_DATA_DIR != *..*) ]] ||
    config_err MI_K3S_DATA_DIR "must be a directory under /opt"
  for v in "${MI_K3S_EXTRA_ARGS[@]}"; do
    [[ $v =~ ^[^[:space:]\'\"\\\$\`\;]+$ ]] || config_err MI_K3S_EXTRA_ARGS "not one plain argument: '${v:0:40}'"
  done
  if [[ -n $MI_K3S_BUNDLE && ${#MI_K3S_SHA256S[@]} -eq 0 ]]; then config_err MI_K3S_SHA256S "empty with MI_K3S_BUNDLE set"; fi
  ((${#CONFIG_ERRORS[@]} == 0))
}

# config_need_asked NEED: the install.env values ask for NEED (image-needs.tsv; the same tests as
# needAsked in src/image-needs.ts).
config_need_asked() {
  case $1 in
    cloud_init) [[ $MI_CLOUD_INIT == yes ]] ;;
    ntp_cloud_init | ntp_chrony) ((${#MI_NTP_SERVERS[@]} > 0)) ;;
    user_apps) [[ -n $MI_USER_APPS_DIR ]] ;;
    persistent_size) [[ -n $MI_PERSISTENT_SIZE_GIB && $((10#$MI_PERSISTENT_SIZE_GIB)) != 0 ]] ;;
    sudo) [[ $MI_USER_SUDO != none ]] ;;
    container_engine) [[ $MI_HOST_TYPE == container ]] ;;
    k3s_persistent) [[ -n $MI_K3S_BUNDLE ]] ;;
    *) return 1 ;;
  esac
}

# config_image_needs: print one line per answer the OS image cannot take, from the image facts
# the build put in install.env (MI_IMAGE_*: yes, no, or empty when not probed: not checked).
config_image_needs() {
  local need fact message
  while IFS=$'\t' read -r need fact message; do
    [[ -n $need && $need != '#'* && $need != need ]] || continue
    [[ $(config_kind "$fact") == scalar && ${!fact} == no ]] || continue
    config_need_asked "$need" && printf '%s\n' "$message"
  done <"$CONFIG_IMAGE_NEEDS_FILE"
  return 0
}

# cmdline_parse FILE: read makeiso.* arguments from a kernel command line file into
# CMD_VOLID, CMD_PLAN (0|1), CMD_DEBUG (0|1). Words are split by read -a: no globbing.
cmdline_parse() {
  local file=$1 word
  local -a words=()
  CMD_VOLID='' CMD_PLAN=0 CMD_DEBUG=0
  read -r -a words <"$file" || true
  for word in "${words[@]}"; do
    case $word in
      makeiso.volid=*) CMD_VOLID=${word#makeiso.volid=} ;;
      makeiso.plan=1 | makeiso.plan) CMD_PLAN=1 ;;
      makeiso.debug=1 | makeiso.debug) CMD_DEBUG=1 ;;
    esac
  done
  if [[ -n $CMD_VOLID && ! $CMD_VOLID =~ ^[A-Za-z0-9_]{1,32}$ ]]; then
    CONFIG_ERRORS+=("makeiso.volid: not a volume id: '${CMD_VOLID}'")
    return 1
  fi
  return 0
}
