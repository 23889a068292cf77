#!/usr/bin/env bash
# Console and log output for the installer: contract lines reach every console (tty and serial)
# exactly once, the journal and the log file; whatever the tools print goes to the log only.
# Sourced by installer.sh; needs nothing but bash.
# shellcheck disable=SC2034 # globals set here are read by installer.sh and the other libraries

MI_LOG_FILE=${MI_LOG_FILE:-/var/log/make-iso-installer.log}
LOG_PREFIX='MAKE-ISO-INSTALLER:'
LOG_READY=0
LOG_CONSOLES=()

# log_init: open the log, keep the original stdout on fd 3 (under systemd: the journal) and send
# later output of tools to the log.
log_init() {
  mkdir -p -- "${MI_LOG_FILE%/*}"
  : >>"$MI_LOG_FILE"
  chmod 0600 -- "$MI_LOG_FILE"
  exec 3>&1
  exec >>"$MI_LOG_FILE" 2>&1
  LOG_READY=1
  log_find_consoles
}

# log_find_consoles: under systemd (the unit sends stdout to the journal only), every console the
# kernel writes to (/sys/class/tty/console/active, e.g. "tty0 ttyS0") gets each line directly,
# so it shows on the screen and the serial port exactly once and without journald's prefix.
# Run by hand (no INVOCATION_ID), stdout is the terminal and no console is written.
log_find_consoles() {
  LOG_CONSOLES=()
  [[ -n ${INVOCATION_ID:-} ]] || return 0
  local -a active=()
  if [[ -r /sys/class/tty/console/active ]]; then
    read -r -a active </sys/class/tty/console/active || true
  fi
  local name
  for name in "${active[@]}"; do
    if [[ $name =~ ^[A-Za-z0-9]+$ && -w /dev/$name ]]; then LOG_CONSOLES+=("/dev/$name"); fi
  done
  if ((${#LOG_CONSOLES[@]} == 0)) && [[ -w /dev/console ]]; then LOG_CONSOLES=(/dev/console); fi
  return 0
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
    for console in "${LOG_CONSOLES[@]}"; do
      # in a subshell: only a session leader (this service) can acquire a tty as its controlling
      # terminal by opening it, and a getty's later vhangup() would then send it SIGHUP
      (printf '%s\r\n' "$line" >"$console") 2>/dev/null || true
    done
    printf '%(%F %T)T %s\n' -1 "$line" >>"$MI_LOG_FILE" 2>/dev/null || true
  else
    printf '%s\n' "$line"
  fi
}

# log_emit_console LINE: one line to the console(s) only (not back into the log).
log_emit_console() {
  local line console
  line=$(log_clean "$1")
  ((LOG_READY)) || { printf '%s\n' "$line"; return 0; }
  printf '%s\n' "$line" >&3 2>/dev/null || true
  for console in "${LOG_CONSOLES[@]}"; do
    (printf '%s\r\n' "$line" >"$console") 2>/dev/null || true
  done
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
