#!/usr/bin/env bash
# Facts shared with make-iso's TypeScript (src/facts.ts), read from installer-scripts/facts.tsv,
# the one home of each: reserved user names, disk transports, the disk match default, the
# label of the log partition and the node-matching kinds and file names. Safe to source more than once.
# shellcheck disable=SC2034 # globals set here are read by installer.sh and the other libraries

# facts_load FILE: set FACT_RESERVED_USERS, FACT_DISK_TRANSPORTS (arrays), FACT_DISK_MATCH_DEFAULT
# FACT_LOG_LABEL, FACT_NODE_MATCH_KINDS, FACT_NODE_MATCH_CASELESS (arrays),
# FACT_NODE_DIR, FACT_NODE_MATCH_TABLE and FACT_NODE_CLOUD_INIT_SUFFIX from FILE's KEY<TAB>VALUE lines; die-free: an unknown key is ignored.
facts_load() {
  local file=$1 key value
  declare -ga FACT_RESERVED_USERS=() FACT_DISK_TRANSPORTS=() FACT_NODE_MATCH_KINDS=() FACT_NODE_MATCH_CASELESS=()
  FACT_DISK_MATCH_DEFAULT='' FACT_LOG_LABEL='' FACT_NODE_DIR='' FACT_NODE_MATCH_TABLE='' FACT_NODE_CLOUD_INIT_SUFFIX=''
  while IFS=$'\t' read -r key value; do
    case $key in
      reserved_users) read -r -a FACT_RESERVED_USERS <<<"$value" ;;
      disk_transports) read -r -a FACT_DISK_TRANSPORTS <<<"$value" ;;
      disk_match_default) FACT_DISK_MATCH_DEFAULT=$value ;;
      log_partition_label) FACT_LOG_LABEL=$value ;;
      node_match_kinds) read -r -a FACT_NODE_MATCH_KINDS <<<"$value" ;;
      node_match_caseless) read -r -a FACT_NODE_MATCH_CASELESS <<<"$value" ;;
      node_dir) FACT_NODE_DIR=$value ;;
      node_match_table) FACT_NODE_MATCH_TABLE=$value ;;
      node_cloud_init_suffix) FACT_NODE_CLOUD_INIT_SUFFIX=$value ;;
    esac
  done <"$file"
}

# fact_in WORD LIST...: WORD is one of LIST.
fact_in() {
  local want=$1 w
  shift
  for w in "$@"; do [[ $w == "$want" ]] && return 0; done
  return 1
}

if [[ -z ${FACT_LOG_LABEL:-} ]]; then
  facts_load "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/../facts.tsv"
fi
