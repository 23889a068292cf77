// Why: the single source of truth for the answers file: the loader, the wizard's per-prompt checks,
// the generated answers.schema.json and the README's key table all come from this zod schema.
import { isIP } from 'node:net';
import { z } from 'zod';
import { DEFAULT_MASKED_UNITS } from '../rootfs/change.js';
import { DISK_MATCHES, DISK_MATCH_DEFAULT, DISK_TRANSPORTS, NODE_MATCH_KINDS } from '../facts.js';

// ---- reusable field schemas (the wizard validates each prompt with these) ----

const noControl = (s: string): boolean => ![...s].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);

/** POSIX portable user name as useradd accepts it by default. */
export const userName = z
  .string()
  .regex(
    /^[a-z_][a-z0-9_-]{0,31}$/,
    'must be a POSIX user name: 1-32 characters, lower-case letters, digits, "_" or "-", not starting with a digit or "-"',
  )
  .describe('name of the user created on the node, e.g. `edge`');

/** SHA-512 crypt (`$6$[rounds=N$]salt$hash`). */
export const SHA512_CRYPT_RE = /^\$6\$(rounds=[0-9]{4,9}\$)?[^$:\s]{1,16}\$[./0-9A-Za-z]{86}$/;
export const PASSWORD_HASH_HELP =
  'the answers file holds only a SHA-512 crypt hash ($6$...), never a plain password; ' +
  'make one with `make-iso hash-password` or `openssl passwd -6`';
export const passwordHash = z
  .string()
  .regex(SHA512_CRYPT_RE, `is not a SHA-512 crypt hash: ${PASSWORD_HASH_HELP}`)
  .describe(
    'SHA-512 crypt hash of the user password (`$6$...`); make one with `make-iso hash-password` or `openssl passwd -6`. Never a plain password',
  );

const SSH_KEY_TYPES = [
  'ssh-ed25519',
  'ssh-rsa',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
] as const;
const SSH_KEY_RE = new RegExp(
  `^(${SSH_KEY_TYPES.map((t) => t.replace(/\./g, '\\.')).join('|')}) ([A-Za-z0-9+/]+={0,2})( [^\\r\\n]*)?$`,
);

/** True when the base64 blob decodes to a key of the named type (its first length-prefixed string). */
export function sshKeyBlobMatches(line: string): boolean {
  const m = SSH_KEY_RE.exec(line.trim());
  if (!m) return false;
  const blob = Buffer.from(m[2] ?? '', 'base64');
  if (blob.length < 4) return false;
  const len = blob.readUInt32BE(0);
  return len === (m[1] ?? '').length && blob.subarray(4, 4 + len).toString('latin1') === m[1];
}

export const sshKey = z
  .string()
  .regex(
    SSH_KEY_RE,
    `must be one public key line: "<type> <base64> [comment]" with type one of ${SSH_KEY_TYPES.join(', ')}`,
  )
  .refine(sshKeyBlobMatches, { message: 'the base64 part is not a public key of the type named before it' })
  .describe('one authorized_keys line: `<type> <base64> [comment]`');

const HOSTNAME_RE = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
export const hostname = z
  .string()
  .max(253)
  .regex(HOSTNAME_RE, 'must be a host name: letters, digits and "-" in dot-separated labels of at most 63 characters')
  .describe('host name of the installed node; unset keeps the OS image default');

export const ipAddress = z
  .string()
  .refine((v) => isIP(v) !== 0, { message: 'must be an IPv4 or IPv6 address' })
  .describe('IPv4 or IPv6 address');

export const hostOrIp = z.string().refine((v) => isIP(v) !== 0 || (v.length <= 253 && HOSTNAME_RE.test(v)), {
  message: 'must be a host name or an IP address',
});

export const proxyUrl = z
  .string()
  .regex(
    /^(https?|socks5h?):\/\/[^\s'"\\$`;&|<>(){}]+$/,
    'must be a proxy URL such as http://proxy.example.com:3128 (no spaces, quotes, backslashes or shell characters $ ` ; & | < > ( ) { }; percent-encode them in a password)',
  )
  .describe('proxy URL, e.g. `http://proxy.example.com:3128`');

export const noProxyList = z
  .string()
  .regex(
    /^[^\s'"\\$`;&|<>(){}]*$/,
    'must be a comma-separated list without spaces, quotes, backslashes or shell characters',
  );

export const sha256Hex = z
  .string()
  .regex(/^[0-9a-fA-F]{64}$/, 'must be a sha256 checksum: 64 hexadecimal characters')
  .describe('sha256 checksum (64 hex characters)');

const filePath = z
  .string()
  .min(1, 'must not be empty')
  .refine(noControl, { message: 'must not contain control characters' });

export const unitName = z
  .string()
  .regex(/^[A-Za-z0-9:_.@\\-]{1,250}$/, 'must be a systemd unit name such as `fluent-bit` or `fluent-bit.service`');

const globPattern = z
  .string()
  .min(1, 'must not be empty')
  .max(256)
  .refine(noControl, { message: 'must not contain control characters' });

export const kernelArg = z
  .string()
  .regex(/^[^\s'"\\$`;]+$/, 'must be one kernel argument without spaces, quotes, backslashes, "$", "`" or ";"');

export const tmpfsSize = z
  .string()
  .regex(/^([1-9][0-9]*[KMG]|[1-9][0-9]?%)$/, 'must be a size such as 1G, 1536M or 50%');

/** The provisioning units masked by default, as users write them (without `.service`). */
export const DEFAULT_MASKED_SERVICES: readonly string[] = DEFAULT_MASKED_UNITS.map((u) => u.replace(/\.service$/, ''));

export const SERIAL_SPEEDS = [9600, 19200, 38400, 57600, 115200] as const;
export { DISK_TRANSPORTS };

// ---- groups ----

const bootkit = z
  .strictObject({
    archive: filePath
      .optional()
      .describe('the bootkit release tar.gz, e.g. `emb_uos_x86_64_20260526.tar.gz` (or give kernel + initramfs)'),
    kernel: filePath.optional().describe('bootkit kernel `vmlinuz-<kver>`, instead of `archive`'),
    initramfs: filePath.optional().describe('bootkit initramfs `initramfs-<kver>.img`, instead of `archive`'),
    sha256: sha256Hex.optional().describe('expected sha256 of `archive`; the build stops when it differs'),
  })
  .describe('the Edge Microvisor Bootkit release: `archive`, or `kernel` and `initramfs`');

const osImage = z
  .strictObject({
    path: filePath.describe('the EMT OS image to install, a `*.raw.gz` file'),
    sha256: sha256Hex
      .optional()
      .describe('expected sha256 of the image; default: read from `<path>.sha256sum` when that file exists'),
  })
  .describe('the OS image the installer writes to the target disk');

const output = z
  .strictObject({
    path: filePath.default('make-iso.iso').describe('where to write the ISO'),
    sourceDateEpoch: z
      .number()
      .int()
      .nonnegative()
      .lt(2 ** 32, 'must be below 2^32 (4294967296): ISO 9660 and cpio store 32-bit times')
      .optional()
      .describe(
        "timestamp (seconds since 1970) stamped into the ISO for reproducible output; default: $SOURCE_DATE_EPOCH, else the kernel's modification time",
      ),
  })
  .prefault({})
  .describe('the ISO to build');

export const SUDO_POLICIES = ['nopasswd', 'password', 'none'] as const;

const user = z
  .strictObject({
    name: userName,
    passwordHash: passwordHash.optional(),
    sshKeys: z.array(sshKey).default([]).describe('authorized_keys lines for the user'),
    sudo: z
      .enum(SUDO_POLICIES)
      .optional()
      .describe(
        "sudo for the user: `nopasswd` (upstream's NOPASSWD:ALL), `password` (asks the user's password) or `none`; default: `password` with a password hash, else `nopasswd`",
      ),
  })
  .superRefine((u, ctx) => {
    if (u.sudo === 'password' && u.passwordHash === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['sudo'],
        message: 'is `password` but the user has no passwordHash: a key-only user could never type one; use `nopasswd`',
      });
    }
  })
  .describe('the user created on the installed node (give a password hash, ssh keys, or both)');

/** The sudo policy the installer applies: the answer, else `password` with a hash, else `nopasswd`. */
export function sudoPolicy(u: {
  passwordHash?: string | undefined;
  sudo?: (typeof SUDO_POLICIES)[number] | undefined;
}) {
  return u.sudo ?? (u.passwordHash === undefined ? 'nopasswd' : 'password');
}

const proxy = z
  .strictObject({
    http: proxyUrl.optional().describe('http_proxy / HTTP_PROXY'),
    https: proxyUrl.optional().describe('https_proxy / HTTPS_PROXY'),
    noProxy: noProxyList.optional().describe('no_proxy / NO_PROXY: comma-separated hosts, domains and CIDRs'),
  })
  .prefault({})
  .describe('proxy settings for the installed node; unset means no proxy');

const network = z
  .strictObject({
    mode: z.enum(['dhcp', 'static']).default('dhcp').describe('`dhcp`, or `static` with address, prefix and gateway'),
    interface: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,15}$/, 'must be a network interface name such as `enp1s0` (at most 15 characters)')
      .optional()
      .describe('interface to configure; default: the first interface with a carrier'),
    address: ipAddress.optional().describe('static IPv4 or IPv6 address (mode static)'),
    prefix: z
      .number()
      .int()
      .min(0)
      .max(128)
      .optional()
      .describe('static prefix length, e.g. 24 for 255.255.255.0 (mode static)'),
    gateway: ipAddress.optional().describe('static default gateway (mode static)'),
    dns: z.array(ipAddress).default([]).describe('DNS servers (IP addresses)'),
  })
  .prefault({})
  .describe('network of the installed node');

const ntp = z
  .strictObject({
    servers: z
      .array(hostOrIp)
      .default([])
      .describe('NTP servers (host names or IP addresses); empty keeps the image default'),
  })
  .prefault({})
  .describe('time synchronisation');

const disk = z
  .strictObject({
    match: z
      .enum(DISK_MATCHES)
      .default(DISK_MATCH_DEFAULT)
      .describe('a disk qualifies when `any` or `all` of the given rules match'),
    byId: z.array(globPattern).default([]).describe('globs on /dev/disk/by-id names, e.g. `nvme-Samsung*`'),
    byPath: z
      .array(globPattern)
      .default([])
      .describe('globs on /dev/disk/by-path names, e.g. `pci-0000:01:00.0-nvme-1`'),
    serial: z.array(globPattern).default([]).describe('globs on the disk serial number'),
    wwn: z.array(globPattern).default([]).describe('globs on the disk WWN'),
    model: z.array(globPattern).default([]).describe('globs on the disk model'),
    transport: z
      .array(z.enum(DISK_TRANSPORTS))
      .default([])
      .describe(`allowed transports: ${DISK_TRANSPORTS.join(', ')}`),
    minGiB: z.number().int().positive().optional().describe('smallest acceptable disk size in GiB'),
    maxGiB: z.number().int().positive().optional().describe('largest acceptable disk size in GiB'),
    rotational: z.boolean().optional().describe('true: only spinning disks; false: only SSDs; unset: either'),
    pick: z.enum(['smallest', 'largest']).default('smallest').describe('which qualifying disk to install on'),
    wipeExisting: z
      .boolean()
      .default(false)
      .describe('allow installing over a disk that already has partitions (off: such disks are skipped)'),
  })
  .prefault({})
  .describe('how the installer chooses the target disk; the install media itself is never a candidate');

const lvm = z
  .strictObject({
    sizeGiB: z.number().int().nonnegative().default(0).describe('size of the LVM volume group in GiB; 0: none'),
  })
  .prefault({})
  .describe('LVM volume group for workloads');

const persistent = z
  .strictObject({
    sizeGiB: z
      .number()
      .int()
      .nonnegative()
      .optional()
      .describe(
        "size of `edge_persistent` (the node's /opt) in GiB; unset: grow it to the end of the disk (minus `lvm.sizeGiB`); 0: keep the image's size",
      ),
  })
  .prefault({})
  .describe('the `edge_persistent` partition (mounted on /opt on the node: user apps, containers, /home)');

const writeFile = z.strictObject({
  path: z
    .string()
    .regex(/^\//, 'must be an absolute path on the node')
    .refine(noControl, { message: 'must not contain control characters' })
    .describe('absolute path of the file on the installed node'),
  permissions: z
    .string()
    .regex(/^0?[0-7]{3,4}$/, "must be octal permissions written as a quoted string, e.g. '0644'")
    .default('0644')
    .describe("octal mode as a quoted string, e.g. '0644'"),
  owner: z
    .string()
    .regex(/^[a-z_][a-z0-9_-]*(:[a-z_][a-z0-9_-]*)?$/, 'must be `user` or `user:group`')
    .optional()
    .describe('`user:group`; default root:root'),
  content: z.string().default('').describe('file content (text)'),
  append: z
    .boolean()
    .default(false)
    .describe('append `content` instead of replacing the file (cloud-init `append`); it runs at every boot'),
});

const cloudInit = z
  .strictObject({
    services: z
      .strictObject({
        enable: z.array(unitName).default([]).describe('units to enable on the installed node'),
        disable: z.array(unitName).default([]).describe('units to disable on the installed node'),
      })
      .prefault({})
      .describe('systemd units to enable or disable'),
    writeFiles: z
      .array(writeFile)
      .default([])
      .describe(
        "files cloud-init writes at every boot (`write_files`; the node's /var is tmpfs, so cloud-init starts afresh)",
      ),
    runcmd: z
      .array(z.union([z.string(), z.array(z.string()).min(1)]))
      .default([])
      .describe(
        "commands cloud-init runs at EVERY boot (`runcmd`; the node's /var is tmpfs): write them idempotently. A shell string or an argv list",
      ),
  })
  .prefault({})
  .describe('extras applied by cloud-init (NoCloud) on the installed node');

/** Where the node keeps k3s's state: on edge_persistent (/opt), since /var is tmpfs. */
export const K3S_DEFAULT_DATA_DIR = '/opt/rancher/k3s';

const k3sArg = z
  .string()
  .regex(/^[^\s'"\\$`;]+$/, 'must be one k3s argument without spaces, quotes, backslashes, "$", "`" or ";"');

const registryHost = z
  .string()
  .regex(/^[A-Za-z0-9.-]+(:[0-9]{1,5})?$/, 'must be a registry host such as `docker.io` or `registry.example:5000`');

const kubernetes = z
  .strictObject({
    bundle: filePath
      .optional()
      .describe(
        'k3s air-gap bundle: a directory or a .tar/.tar.gz/.tgz holding `k3s`, `k3s-airgap-images-<arch>.tar[.gz|.zst]` and `install.sh`, each with its sha256 (a `sha256sum*.txt` list or `<file>.sha256`); default: `artifacts/` in userAppsDir',
      ),
    nodeIp: ipAddress.optional().describe('`node-ip` of the k3s node; default: k3s picks the default route address'),
    interface: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,15}$/, 'must be a network interface name such as `enp1s0` (at most 15 characters)')
      .optional()
      .describe('`flannel-iface`: the interface the cluster network uses'),
    dataDir: z
      .string()
      .regex(/^\/opt\/[A-Za-z0-9._/-]+$/, 'must be a directory under /opt (edge_persistent); /var is tmpfs on the node')
      .default(K3S_DEFAULT_DATA_DIR)
      .describe('k3s `data-dir`, under /opt (edge_persistent)'),
    extraArgs: z.array(k3sArg).default([]).describe('extra `k3s server` arguments, e.g. `--disable=traefik`'),
    registryMirrors: z
      .record(registryHost, z.array(z.url({ protocol: /^https?$/ })).min(1))
      .default({})
      .describe('registry mirrors for `/etc/rancher/k3s/registries.yaml`: registry -> endpoint URLs'),
  })
  .prefault({})
  .describe('single-node k3s (hostType kubernetes), installed air-gapped at the first boot');

const consoleSchema = z
  .strictObject({
    port: z
      .string()
      .regex(/^tty[A-Za-z]*[0-9]+$/, 'must be a serial device name such as ttyS0')
      .default('ttyS0')
      .describe('serial port, e.g. `ttyS0`'),
    speed: z
      .literal(SERIAL_SPEEDS)
      .default(115200)
      .describe(`baud rate: ${SERIAL_SPEEDS.join(', ')}`),
  })
  .nullable()
  .prefault({})
  .describe('serial console for the installer (GRUB and kernel); null: screen only');

/** A node entry's name is its env file's name on the media (nodes/<name>.env): no path, no surprises. */
export const FLEET_NODE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
/**
 * Identity globs: `*` and `?` only. No `[...]` or `\\`, and no parentheses (bash's `[[ == ]]`
 * reads `@(a|b)` as an extended glob): so the build's overlap check and the installer agree.
 */
const identityGlob = z
  .string()
  .min(1, 'must not be empty')
  .max(128)
  .regex(/^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/, 'must be printable ASCII, not starting or ending with a space')
  .regex(/^[^[\]\\()]+$/, 'may use only `*` and `?` as wildcards (no `[`, `]`, `(`, `)` or `\\`)');

const NODE_MATCH_HELP: Record<(typeof NODE_MATCH_KINDS)[number], string> = {
  mac: 'glob on a MAC address of the machine (any NIC but lo), case-insensitive, e.g. `52:54:00:12:34:*`',
  smbiosSerial: 'glob on the SMBIOS system serial (/sys/class/dmi/id/product_serial)',
  smbiosUuid: 'glob on the SMBIOS system UUID (/sys/class/dmi/id/product_uuid), case-insensitive',
  diskSerial: 'glob on the serial of any disk of the machine (lsblk SERIAL)',
};

const fleetMatch = z
  .strictObject(
    Object.fromEntries(NODE_MATCH_KINDS.map((k) => [k, identityGlob.optional().describe(NODE_MATCH_HELP[k] ?? k)])),
  )
  .describe('how the installer recognises the machine: every criterion given must match');

export const fleetNode = z
  .strictObject({
    name: z
      .string()
      .regex(FLEET_NODE_NAME_RE, 'must be 1-63 of letters, digits, ".", "_" and "-", starting with a letter or digit')
      .describe('name of the entry (its file on the media is nodes/<name>.env)'),
    match: fleetMatch.optional(),
    default: z
      .literal(true)
      .optional()
      .describe('this entry installs a machine no other entry matches (at most one entry; needs no match)'),
    hostname: hostname.optional().describe("the node's host name"),
    network: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('keys of `network` this node sets, merged key by key over the base (mode, interface, address, ...)'),
    user: z
      .strictObject({ sshKeys: z.array(sshKey).describe("replaces the base's user.sshKeys") })
      .optional()
      .describe('user keys of this node'),
    disk: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('keys of `disk` this node sets, merged key by key over the base (byId, serial, minGiB, ...)'),
    cloudInit: z
      .record(z.string(), z.unknown())
      .optional()
      .describe(
        "keys of `cloudInit` this node sets (services, writeFiles, runcmd), each replacing the base's; the merged extras are the node's",
      ),
  })
  .describe('one machine of a fleet: how to recognise it and what it changes in the answers');

export type FleetNode = z.infer<typeof fleetNode>;

// ---- the answers file ----

export const answersSchema = z
  .strictObject({
    $schema: z.string().optional().describe('JSON Schema reference for editors; ignored by make-iso'),
    bootkit,
    osImage,
    output,
    user,
    hostname: hostname.optional(),
    proxy,
    network,
    ntp,
    hostType: z
      .enum(['kubernetes', 'container'])
      .default('kubernetes')
      .describe(
        'what the node runs: `kubernetes` (single-node k3s from an air-gap bundle) or `container` (the docker/containerd the image ships)',
      ),
    kubernetes,
    disk,
    lvm,
    persistent,
    hugepages: z
      .number()
      .int()
      .min(0)
      .max(1_048_576)
      .default(0)
      .describe('number of 2 MiB hugepages to reserve; 0: none'),
    cloudInit,
    provisioningServices: z
      .array(unitName)
      .default([...DEFAULT_MASKED_SERVICES])
      .describe('provisioning units masked in the installer environment so they never start'),
    kernelArgs: z.array(kernelArg).default([]).describe('extra kernel arguments for the installer boot'),
    console: consoleSchema,
    afterInstall: z
      .enum(['reboot', 'poweroff', 'stay'])
      .default('reboot')
      .describe('what the node does after a successful install'),
    userAppsDir: filePath.optional().describe('a directory copied onto the media as `/user-apps/`'),
    packages: z
      .array(filePath)
      .max(256)
      .optional()
      .describe(
        "`.rpm`/`.deb` files, or directories of them, whose files are added to the installer's root (tools the bootkit lacks; see docs/packages.md)",
      ),
    tmpfsSize: tmpfsSize.default('1G').describe('size of the in-memory root filesystem of the installer'),
    nodes: z
      .array(fleetNode)
      .min(1)
      .max(1000)
      .optional()
      .describe(
        'one medium for many machines: the installer picks the entry matching the machine it runs on (docs/fleet-media.md)',
      ),
    mode: z
      .enum(['auto', 'overlay', 'rewrite'])
      .default('auto')
      .describe(
        "`auto`: overlay when the bootkit's dracut layout is recognised, else rewrite; `overlay`: append make-iso files as an extra initramfs archive; `rewrite`: rebuild rootfs.tar.gz",
      ),
  })
  .describe('make-iso answers: everything needed to build an unattended installer ISO');

export type Answers = z.infer<typeof answersSchema>;
export type AnswersInput = z.input<typeof answersSchema>;

/** Checks one value against one field schema; returns true or the first message (for prompts). */
export function checkField(schema: z.ZodType, value: unknown): true | string {
  const r = schema.safeParse(value);
  return r.success ? true : (r.error.issues[0]?.message ?? 'invalid');
}
