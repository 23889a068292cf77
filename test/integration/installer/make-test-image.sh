#!/usr/bin/env bash
# Builds a tiny OS image like an EMT *.raw.gz (GPT: esp vfat, rootfs ext4 with passwd/shadow/group,
# edge_persistent ext4) and an install media directory holding it, for the installer's loop tests.
# Usage: [NO_CLOUD_INIT=1] make-test-image.sh OUT_DIR [ROOTFS_LABEL] (filesystem label and partition name of the root). Needs sfdisk, mkfs.fat, mkfs.ext4, gzip; no root.
set -euo pipefail

out=$1
rootfs_label=${2:-rootfs}
work=$out/image-build
mkdir -p "$work/root/etc/cloud" "$work/root/home" "$work/root/var/log" "$out/media/images"

printf 'root:x:0:0:root:/root:/bin/bash\n' >"$work/root/etc/passwd"
printf 'root:*:19000:0:99999:7:::\n' >"$work/root/etc/shadow"
printf 'root:x:0:\nwheel:x:10:\n' >"$work/root/etc/group"
printf 'root:*::\nwheel:!::\n' >"$work/root/etc/gshadow"
printf 'PATH="/usr/bin:/bin"\nhttp_proxy="http://old.example:1"\n' >"$work/root/etc/environment"
# NO_CLOUD_INIT=1: an image without cloud-init (no /etc/cloud/cloud.cfg)
[[ -n ${NO_CLOUD_INIT:-} ]] || printf 'users: [default]\n' >"$work/root/etc/cloud/cloud.cfg"
chmod 0600 "$work/root/etc/shadow" "$work/root/etc/gshadow"

raw=$out/os.raw
truncate -s 40M "$raw"
sfdisk -q "$raw" <<TABLE
label: gpt
start=2048, size=8MiB, type=U, name=esp
size=16MiB, type=L, name=${rootfs_label}
size=8MiB, type=L, name=edge_persistent
TABLE
truncate -s 8M "$work/esp.img" && mkfs.fat -n esp "$work/esp.img" >/dev/null 2>&1
truncate -s 16M "$work/rootfs.img" && mkfs.ext4 -q -L "$rootfs_label" -d "$work/root" "$work/rootfs.img"
truncate -s 8M "$work/persistent.img" && mkfs.ext4 -q -L edge_persistent "$work/persistent.img"
dd if="$work/esp.img" of="$raw" bs=1M seek=1 conv=notrunc status=none
dd if="$work/rootfs.img" of="$raw" bs=1M seek=9 conv=notrunc status=none
dd if="$work/persistent.img" of="$raw" bs=1M seek=25 conv=notrunc status=none

gzip -1 -c "$raw" >"$out/media/images/os.raw.gz"
(cd "$out/media/images" && sha256sum os.raw.gz >os.raw.gz.sha256sum)
rm -rf "$work"
