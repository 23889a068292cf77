#!/bin/sh
# make-iso: lays make-iso's overlay onto the new root just before switch-root.
#
# make-iso appends a small cpio archive to the bootkit initramfs holding this file (as
# usr/lib/dracut/hooks/pre-pivot/99-make-iso.sh) and a staging tree:
#   /make-iso-overlay/root/...  files, links and directories to copy onto $NEWROOT
#   /make-iso-overlay/mask      systemd unit names, one per line, to disable and mask
# dracut sources pre-pivot hooks after the mount hooks have filled the tmpfs root from
# rootfs.tar.gz, with $NEWROOT set. Being sourced: no `exit`, no `set -e`, prefixed names.
# MAKE_ISO_OVERLAY and MAKE_ISO_KMSG exist for tests; dracut never sets them.

_mi_log() {
    if [ -w "${MAKE_ISO_KMSG:-/dev/kmsg}" ]; then
        echo "make-iso: $*" >>"${MAKE_ISO_KMSG:-/dev/kmsg}"
    else
        echo "make-iso: $*" >&2
    fi
}

_mi_apply() {
    _mi_root=$1
    _mi_stage=$2
    [ -d "$_mi_stage" ] || return 0
    if [ -z "$_mi_root" ] || [ ! -d "$_mi_root" ]; then
        _mi_log "ERROR: NEWROOT ('$_mi_root') is not a directory; overlay not applied"
        return 1
    fi
    if [ -d "$_mi_stage/root" ]; then
        # -a keeps modes, symlinks and timestamps; existing directories are merged.
        if cp -a "$_mi_stage/root/." "$_mi_root/"; then
            _mi_log "copied overlay files onto $_mi_root"
        else
            _mi_log "ERROR: copying overlay files onto $_mi_root failed"
        fi
    fi
    [ -f "$_mi_stage/mask" ] || return 0
    _mi_units=$_mi_root/etc/systemd/system
    mkdir -p "$_mi_units"
    while IFS= read -r _mi_unit || [ -n "$_mi_unit" ]; do
        case $_mi_unit in
            '' | .* | */*) continue ;;
        esac
        for _mi_link in "$_mi_units"/*.wants/"$_mi_unit" "$_mi_units"/*.requires/"$_mi_unit"; do
            if [ -L "$_mi_link" ] || [ -e "$_mi_link" ]; then
                rm -f "$_mi_link" && _mi_log "disabled $_mi_unit (removed ${_mi_link#"$_mi_root"})"
            fi
        done
        rm -f "$_mi_units/$_mi_unit"
        if ln -s /dev/null "$_mi_units/$_mi_unit"; then
            _mi_log "masked $_mi_unit"
        else
            _mi_log "ERROR: could not mask $_mi_unit"
        fi
    done <"$_mi_stage/mask"
    return 0
}

_mi_apply "${NEWROOT:-}" "${MAKE_ISO_OVERLAY:-/make-iso-overlay}"
unset -f _mi_apply _mi_log
unset _mi_root _mi_stage _mi_units _mi_unit _mi_link
