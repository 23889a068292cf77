// Why: `make-iso init` writes this fully commented answers file; the wizard saves its answers in
// the same shape. A unit test checks that every schema key appears here.
import { stringify } from 'yaml';
import { DEFAULT_MASKED_SERVICES } from './schema.js';

/** The comment lines every answers file make-iso writes starts with (after the modeline). */
export const ANSWERS_HEADER = `# make-iso answers: everything needed to build an unattended installer ISO.
# Check it with:  make-iso validate --answers THIS_FILE
# Build with:     make-iso --answers THIS_FILE
# Relative paths are relative to this file. Unknown keys are errors.`;

/** The commented template. `modeline` is the yaml-language-server line for editor help. */
export function answersTemplate(modeline: string): string {
  return `${modeline}
${ANSWERS_HEADER}

# The Edge Microvisor Bootkit release: the tar.gz as published...
bootkit:
  archive: ./emb_uos_x86_64_YYYYMMDD.tar.gz
  # sha256: <64 hex characters>          # optional: the build stops when the archive differs
  # ...or its two files instead of the archive:
  # kernel: ./vmlinuz-6.12.0.emt26
  # initramfs: ./initramfs-6.12.0.emt26.img

# The EMT OS image the installer writes to the target disk.
osImage:
  path: ./edge-readonly.raw.gz
  # sha256: <64 hex characters>          # default: read from <path>.sha256sum when it exists

output:
  path: ./make-iso.iso                   # the ISO to build
  # sourceDateEpoch: 1767225600          # for reproducible output; default $SOURCE_DATE_EPOCH, else the kernel's mtime

# The user created on the node. Give a password hash, ssh keys, or both.
user:
  name: edge                             # POSIX user name
  # SHA-512 crypt hash only, never a plain password. Make one with
  #   make-iso hash-password      or      openssl passwd -6
  # passwordHash: '$6$...'
  sshKeys: []                            # authorized_keys lines, e.g.
  #  - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA... you@laptop
  # sudo: nopasswd                       # nopasswd | password | none; default: password with a hash, else nopasswd

# hostname: node-1                       # default: keep the image's host name

proxy: {}                                # no proxy; or:
  # http: http://proxy.example.com:3128    # http_proxy / HTTP_PROXY
  # https: http://proxy.example.com:3128   # https_proxy / HTTPS_PROXY
  # noProxy: localhost,127.0.0.1,10.0.0.0/8,.example.com

network:
  mode: dhcp                             # dhcp | static
  # interface: enp1s0                    # default: the first interface with a carrier
  # address: 192.168.1.50                # static only (IPv4 or IPv6)
  # prefix: 24                           # static only: 24 is 255.255.255.0
  # gateway: 192.168.1.1                 # static only
  dns: []                                # e.g. [192.168.1.1, 1.1.1.1]

ntp:
  servers: []                            # e.g. [pool.ntp.org]; empty keeps the image default

# What the node runs: kubernetes (single-node k3s, needs the air-gap bundle below) or container
# (the docker/containerd the OS image ships). Unset: kubernetes without k3s (only the marker).
# hostType: kubernetes                   # kubernetes | container
# kubernetes:
#   bundle: ./k3s-bundle                 # dir or tar: k3s, k3s-airgap-images-amd64.tar.zst, install.sh and
#                                        # their sha256 (sha256sum-amd64.txt); default: userAppsDir/artifacts
#   nodeIp: 192.168.1.50                 # default: k3s picks the default route address
#   interface: enp1s0                    # flannel-iface
#   dataDir: /opt/rancher/k3s            # under /opt (edge_persistent)
#   extraArgs: []                        # e.g. [--disable=traefik]
#   registryMirrors: {}                  # e.g. {docker.io: ['https://mirror.example:5000']}

# How the installer picks the target disk. The install media is never a candidate.
# With no rules every disk qualifies; rules are globs.
disk:
  match: any                             # a disk qualifies when any | all of the rules match
  byId: []                               # /dev/disk/by-id names, e.g. ['nvme-Samsung_SSD_980*']
  byPath: []                             # /dev/disk/by-path names, e.g. ['pci-0000:01:00.0-nvme-1']
  serial: []
  wwn: []
  model: []
  transport: []                          # of nvme, sata, virtio, usb, scsi
  # minGiB: 64
  # maxGiB: 4096
  # rotational: false                    # true: spinning disks only; false: SSDs only
  pick: smallest                         # smallest | largest qualifying disk
  wipeExisting: false                    # true: may install over a disk that has partitions

lvm:
  sizeGiB: 0                             # LVM volume group for workloads; 0: none

# edge_persistent is the node's /opt (user apps, containers, /home).
persistent: {}                           # or: {sizeGiB: 100}
                                         # sizeGiB unset: grow to the end of the disk (minus lvm); 0: keep the image's size

hugepages: 0                             # number of 2 MiB hugepages; 0: none

# Extras applied by cloud-init (NoCloud) on the installed node. EMT's /var is tmpfs, so
# cloud-init runs them again at EVERY boot: write runcmd idempotently.
cloudInit:
  services:
    enable: []                           # e.g. [my-app.service]
    disable: []
  writeFiles: []
  #  - path: /etc/motd
  #    permissions: '0644'               # quoted octal
  #    owner: root:root
  #    append: false                     # true: append (again at every boot)
  #    content: |
  #      Welcome to this edge node.
  runcmd: []                             # shell strings or argv lists, e.g. ['echo hi', [touch, /tmp/x]]

# Provisioning units masked in the installer so they never start.
provisioningServices: [${DEFAULT_MASKED_SERVICES.join(', ')}]

kernelArgs: []                           # extra kernel arguments for the installer boot

console:                                 # serial console for GRUB and the kernel; "console: null" for screen only
  port: ttyS0
  speed: 115200                          # 9600 | 19200 | 38400 | 57600 | 115200

afterInstall: reboot                     # reboot | poweroff | stay

# userAppsDir: ./user-apps               # a directory copied onto the media as /user-apps/
# packages: [./packages]                 # .rpm/.deb files or dirs: tools the bootkit lacks (docs/packages.md)

# One medium for many machines (docs/fleet-media.md): the installer picks the entry that matches
# the machine it runs on; every criterion of an entry must match (globs with * and ?).
# nodes:
#   - name: rack1-a                      # file-safe name
#     match:
#       mac: '52:54:00:12:34:01'         # any NIC's MAC, case-insensitive
#       # smbiosSerial: 'S1234*'         # /sys/class/dmi/id/product_serial
#       # smbiosUuid: '4c4c4544-*'       # /sys/class/dmi/id/product_uuid, case-insensitive
#       # diskSerial: 'PHKS*'            # any disk's serial (lsblk SERIAL)
#     hostname: rack1-a
#     network: {mode: static, address: 192.168.1.51, prefix: 24, gateway: 192.168.1.1}
#     # user: {sshKeys: [...]}            # replaces user.sshKeys
#     # disk: {minGiB: 100}               # merged key by key over disk
#   - name: spare
#     default: true                      # at most one: installs a machine nothing else matches

tmpfsSize: 1G                            # size of the installer's in-memory root
mode: auto                               # auto: overlay if the bootkit's dracut layout is known, else rewrite | overlay | rewrite
`;
}

/** The answers as YAML with the modeline on top (what the wizard saves). */
export function answersToYaml(answers: Record<string, unknown>, modeline: string): string {
  return `${modeline}\n# written by make-iso; check with: make-iso validate --answers THIS_FILE\n${stringify(answers, { lineWidth: 0 })}`;
}
