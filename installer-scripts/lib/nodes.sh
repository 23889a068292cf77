#!/usr/bin/env bash
# One medium for many machines (docs/fleet-media.md): with a match table next to install.env,
# the installer reads this machine's identity (NIC MACs, SMBIOS serial and UUID, disk serials),
# picks the one node entry whose criteria all match (or the default entry when none does) and
# installs with that entry's env file. Pure: reads sysfs and lsblk, writes nothing.
# shellcheck disable=SC2034 # globals set here are read by installer.sh
# shellcheck source=installer-scripts/lib/facts.sh
source "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/facts.sh"

NODE_NAME=''
NODE_REASONS=()
NODE_ERROR=''
NODE_ID_KINDS=()
NODE_ID_VALUES=()

# nodes_norm KIND VALUE: VALUE trimmed, lower-cased for the case-insensitive kinds (facts.tsv).
nodes_norm() {
  local kind=$1 v=$2
  v=${v#"${v%%[![:space:]]*}"}
  v=${v%"${v##*[![:space:]]}"}
  if fact_in "$kind" "${FACT_NODE_MATCH_CASELESS[@]}"; then v=${v,,}; fi
  printf '%s' "$v"
}

# nodes_emit KIND VALUE: one KIND<TAB>VALUE identity line, unless VALUE is empty.
nodes_emit() {
  local v
  v=$(nodes_norm "$1" "$2")
  if [[ -n $v ]]; then printf '%s\t%s\n' "$1" "$v"; fi
  return 0
}

# nodes_identity SYSROOT [SERIALS_FILE]: this machine's identity as KIND<TAB>VALUE lines. SYSROOT
# prefixes /sys (empty on the node; a fake tree in tests); disk serials come from SERIALS_FILE
# (one per line, a test seam) or `lsblk -dn -o SERIAL`.
nodes_identity() {
  local root=$1 serials=${2:-} f name line
  for f in "$root"/sys/class/net/*/address; do
    [[ -r $f ]] || continue
    name=${f%/address}
    name=${name##*/}
    [[ $name != lo ]] || continue
    nodes_emit mac "$(<"$f")"
  done
  f=$root/sys/class/dmi/id/product_serial
  if [[ -r $f ]]; then nodes_emit smbiosSerial "$(<"$f")"; fi
  f=$root/sys/class/dmi/id/product_uuid
  if [[ -r $f ]]; then nodes_emit smbiosUuid "$(<"$f")"; fi
  while IFS= read -r line; do
    nodes_emit diskSerial "$line"
  done < <(if [[ -n $serials ]]; then cat -- "$serials"; else lsblk -dn -o SERIAL 2>/dev/null || true; fi)
}

# nodes_read_identity IDENTITY_FILE: the identity lines into NODE_ID_KINDS and NODE_ID_VALUES.
nodes_read_identity() {
  local kind value
  NODE_ID_KINDS=() NODE_ID_VALUES=()
  while IFS=$'\t' read -r kind value; do
    NODE_ID_KINDS+=("$kind")
    NODE_ID_VALUES+=("$value")
  done <"$1"
}

# nodes_entry_matches CRITERIA: every KIND<TAB>GLOB line of CRITERIA matches some identity value
# of that kind (nodes_read_identity); sets NODE_REASONS to "matched KIND VALUE against GLOB" per
# line. No subshell: it runs once per entry, up to 1000 times.
nodes_entry_matches() {
  local criteria=$1 kind glob i hit
  NODE_REASONS=()
  while IFS=$'\t' read -r kind glob; do
    [[ -n $kind ]] || continue
    if fact_in "$kind" "${FACT_NODE_MATCH_CASELESS[@]}"; then glob=${glob,,}; fi
    hit=''
    for i in "${!NODE_ID_KINDS[@]}"; do
      # shellcheck disable=SC2053 # GLOB is a pattern on purpose (only * and ?, checked at build)
      if [[ ${NODE_ID_KINDS[i]} == "$kind" && ${NODE_ID_VALUES[i]} == $glob ]]; then
        hit=${NODE_ID_VALUES[i]}
        break
      fi
    done
    [[ -n $hit ]] || return 1
    NODE_REASONS+=("matched ${kind} ${hit} against ${glob}")
  done <<<"$criteria"
  return 0
}

# nodes_choose TABLE IDENTITY_FILE: sets NODE_NAME and NODE_REASONS to the one matching entry of
# the match table (NAME<TAB>KIND<TAB>GLOB; KIND `default` marks the default entry), else the
# default; fails with NODE_ERROR when no entry (and no default) or several entries match.
nodes_choose() {
  local table=$1 ident=$2 name kind glob default='' n
  local -a order=() matched=()
  local -A crit=()
  NODE_NAME='' NODE_ERROR='' NODE_REASONS=()
  while IFS=$'\t' read -r name kind glob; do
    [[ -n $name && $name != \#* ]] || continue
    if [[ $kind == default ]]; then
      default=$name
      continue
    fi
    if ! fact_in "$kind" "${FACT_NODE_MATCH_KINDS[@]}"; then
      NODE_ERROR="the node match table has an unknown kind '${kind}' (entry ${name})"
      return 1
    fi
    [[ -v crit[$name] ]] || order+=("$name")
    crit[$name]+="${kind}"$'\t'"${glob}"$'\n'
  done <"$table"
  nodes_read_identity "$ident"
  for n in "${order[@]}"; do
    if nodes_entry_matches "${crit[$n]}"; then matched+=("$n"); fi
  done
  if ((${#matched[@]} > 1)); then
    NODE_ERROR="this machine matches ${#matched[@]} node entries (${matched[*]}); it must match one"
    return 1
  fi
  if ((${#matched[@]} == 1)); then
    NODE_NAME=${matched[0]}
    nodes_entry_matches "${crit[$NODE_NAME]}"
    return 0
  fi
  if [[ -n $default ]]; then
    NODE_NAME=$default
    NODE_REASONS=("matched no other entry; the default entry")
    return 0
  fi
  NODE_ERROR="this machine matches no node entry and there is no default entry (its identity: $(nodes_identity_text "$ident"))"
  return 1
}

# nodes_identity_text IDENTITY_FILE: the identity on one line, `kind value, kind value`.
nodes_identity_text() {
  local kind value out=''
  while IFS=$'\t' read -r kind value; do
    out+="${out:+, }${kind} ${value}"
  done <"$1"
  printf '%s' "${out:-none found}"
}
