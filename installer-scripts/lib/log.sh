#!/usr/bin/env bash
# Console and log output for the installer: contract lines reach every console (tty and serial)
# exactly once and the log file; whatever the tools print goes to the log only.
# Sourced by installer.sh; needs nothing but bash.
# shellcheck disable=SC2034 # globals set here are read by installer.sh and the other libraries

MI_LOG_FILE=${MI_LOG_FILE:-/var/log/make-iso-installer.log}
LOG_PREFIX='MAKE-ISO-INSTALLER:'
LOG_READY=0
LOG_EXTRA_CONSOLES=()

# log_init: open the log, keep the original stdout on fd 3 (under systemd that is
# journal+console, i.e. the journal and /dev/console) and send later output of tools to the log.
log_init() {
  mkdir -p -- "${MI_LOG_FILE%/*}"
  : >>"$MI_LOG_FILE"
  chmod 0600 -- "$MI_LOG_FILE"
  exec 3>&1
  exec >>"$MI_LOG_FILE" 2>&1
  LOG_READY=1
  log_find_extra_consoles
}

# log_find_extra_consoles: /dev/console only reaches the last console= of the kernel command
# line (the last entry of /sys/class/tty/console/active); write to the others directly so that
# a line shows on tty0 and ttyS0 alike, without printing it twice on any of them.
log_find_extra_consoles() {
  LOG_EXTRA_CONSOLES=()
  local active_file=/sys/class/tty/console/active
  [[ -n ${INVOCATION_ID:-} && -r $active_file ]] || return 0
  local -a active=()
  read -r -a active <"$active_file" || true
  local i
  for ((i = 0; i + 1 < ${#active[@]}; i++)); do
    if [[ ${active[i]} =~ ^[A-Za-z0-9]+$ && -w /dev/${active[i]} ]]; then
      LOG_EXTRA_CONSOLES+=("/dev/${active[i]}")
    fi
  done
}

# log_clean TEXT: the text with control characters replaced, so values cannot move the cursor.
log_clean() {
  local text=$1
  printf '%s' "${text//[[:cntrl:]]/?}"
}

# log_emit LINE: one line to the console(s) and, time-stamped, to the log.
log_emit() {
  local line console
  line=$(log_clean "$1")
  if ((LOG_READY)); then
    printf '%s\n' "$line" >&3 2>/dev/null || true
    for console in "${LOG_EXTRA_CONSOLES[@]}"; do
      printf '%s\r\n' "$line" >"$console" 2>/dev/null || true
    done
    printf '%(%F %T)T %s\n' -1 "$line" >>"$MI_LOG_FILE" 2>/dev/null || true
  else
    printf '%s\n' "$line"
  fi
}

# say TEXT: a contract line ("MAKE-ISO-INSTALLER: ...") on the console and in the log.
say() { log_emit "$LOG_PREFIX $*"; }

# info TEXT: a detail line on the console (not a contract line) and in the log.
info() { log_emit "make-iso-installer: $*"; }

# log TEXT: the log only (also the console with makeiso.debug=1).
log() {
  if [[ ${MI_DEBUG:-0} == 1 ]]; then
    log_emit "make-iso-installer: debug: $*"
  elif ((LOG_READY)); then
    printf '%(%F %T)T %s\n' -1 "$(log_clean "$*")" >>"$MI_LOG_FILE" 2>/dev/null || true
  fi
}

# run CMD ARGS...: log the command line, then run it (its output goes to the log).
run() {
  log "+ $(printf '%q ' "$@")"
  "$@"
}

# die TEXT: fail the install with this reason (the EXIT trap prints the FAILED line). The reason
# is also kept in a file so that a die inside a command substitution is not lost.
die() {
  FAIL_REASON=$*
  if [[ -n ${MI_FAIL_FILE:-} ]]; then
    printf '%s\n' "$*" >"$MI_FAIL_FILE" 2>/dev/null || true
  fi
  log "error: $*"
  exit 1
}
