// Why: lists the machine's drives from `lsblk --json` and classifies each one (system disk,
// removable/USB) so `drives`, `write` and the wizard never offer the disk the OS runs from.
import { run } from '../exec.js';
import { inContext, ToolError } from '../errors.js';

/** Columns asked from lsblk; the parser accepts the old (strings) and new (typed) JSON forms. */
export const LSBLK_COLUMNS = [
  'NAME',
  'MAJ:MIN',
  'PATH',
  'TYPE',
  'SIZE',
  'MODEL',
  'VENDOR',
  'SERIAL',
  'WWN',
  'TRAN',
  'RM',
  'HOTPLUG',
  'RO',
  'LOG-SEC',
  'MOUNTPOINTS',
  'PKNAME',
  'FSTYPE',
  'LABEL',
  'PARTLABEL',
  'PTTYPE',
] as const;

/** One node of the lsblk tree (a disk, a partition, or a device-mapper/RAID holder). */
export interface BlockNode {
  name: string;
  /** "major:minor" */
  majMin: string;
  path: string;
  type: string;
  size: number;
  model: string | null;
  vendor: string | null;
  serial: string | null;
  wwn: string | null;
  transport: string | null;
  removable: boolean;
  hotplug: boolean;
  readOnly: boolean;
  logicalSectorSize: number;
  mountpoints: string[];
  parentName: string | null;
  fstype: string | null;
  label: string | null;
  partlabel: string | null;
  pttype: string | null;
  children: BlockNode[];
}

/** What is on a drive now: one line per partition (or holder) for the confirmation screen. */
export interface DrivePart {
  path: string;
  type: string;
  size: number;
  fstype: string | null;
  label: string | null;
  mountpoints: string[];
}

/** A whole drive as `drives` and `write` see it: the disk's own lsblk facts, plus what is below it. */
export interface Drive extends Pick<
  BlockNode,
  | 'path'
  | 'name'
  | 'majMin'
  | 'type'
  | 'size'
  | 'model'
  | 'vendor'
  | 'serial'
  | 'wwn'
  | 'transport'
  | 'removable'
  | 'hotplug'
  | 'readOnly'
  | 'logicalSectorSize'
  | 'fstype'
  | 'label'
  | 'pttype'
> {
  /** Partitions and holders (LVM, dm-crypt, RAID) below the drive, depth first. */
  parts: DrivePart[];
  /** Every mountpoint on the drive or anything below it (swap shows as "[SWAP]"). */
  mountpoints: string[];
  /** Why this is a system drive (e.g. "holds /"); empty when it is not one. */
  systemReasons: string[];
  /** Removable, hot-plugged or USB: what `drives` lists by default. */
  isRemovable: boolean;
}

/** One mounted filesystem from findmnt. */
export interface Mount {
  source: string;
  target: string;
  fstype: string;
  majMin: string;
}

/** Mount targets that make the drive beneath them a system drive ... */
const SYSTEM_MOUNTS = [
  ...['/', '/boot', '/efi', '/usr', '/var', '/etc', '/opt', '/srv', '/home', '/root', '/nix', '/snap'],
  // the boot media of a running live system (Ubuntu, Debian, Fedora, Arch)
  ...['/cdrom', '/run/live/medium', '/lib/live/mount/medium', '/run/initramfs/live', '/run/archiso/bootmnt'],
];
/** ... and trees whose every mount is a system one (/home/me/usb is not: users mount sticks there). */
const SYSTEM_TREES = ['/boot/', '/usr/', '/var/', '/nix/'];

/** True when a mountpoint belongs to the running system (not /media, /mnt, /run/media ...). */
export function isSystemMount(target: string): boolean {
  if (target === '[SWAP]') return true;
  return SYSTEM_MOUNTS.includes(target) || SYSTEM_TREES.some((t) => target.startsWith(t));
}

function str(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  const s = String(v).trim();
  return s === '' ? null : s;
}

function num(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '') return Number(v);
  return 0;
}

function bool(v: unknown): boolean {
  return v === true || v === 1 || v === '1' || v === 'true';
}

function mountsOf(raw: Record<string, unknown>): string[] {
  const many = raw.mountpoints;
  if (Array.isArray(many)) return many.filter((m): m is string => typeof m === 'string' && m !== '');
  const one = str(raw.mountpoint);
  return one ? [one] : [];
}

function toNode(raw: Record<string, unknown>): BlockNode {
  const children = Array.isArray(raw.children) ? (raw.children as Record<string, unknown>[]) : [];
  const name = str(raw.name) ?? '';
  return {
    name,
    majMin: str(raw['maj:min']) ?? '',
    path: str(raw.path) ?? `/dev/${name}`,
    type: str(raw.type) ?? 'unknown',
    size: num(raw.size),
    model: str(raw.model),
    vendor: str(raw.vendor),
    serial: str(raw.serial),
    wwn: str(raw.wwn),
    transport: str(raw.tran),
    removable: bool(raw.rm),
    hotplug: bool(raw.hotplug),
    readOnly: bool(raw.ro),
    logicalSectorSize: num(raw['log-sec']) || 512,
    mountpoints: mountsOf(raw),
    parentName: str(raw.pkname),
    fstype: str(raw.fstype),
    label: str(raw.label),
    partlabel: str(raw.partlabel),
    pttype: str(raw.pttype),
    children: children.map(toNode),
  };
}

/** Parses `lsblk --json --bytes -o ...` output (tree form) into nodes. */
export function parseLsblk(json: string): BlockNode[] {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (err) {
    throw new Error('lsblk printed something that is not JSON', { cause: err });
  }
  const list = (data as { blockdevices?: unknown }).blockdevices;
  if (!Array.isArray(list)) throw new Error('lsblk JSON has no "blockdevices" list');
  return (list as Record<string, unknown>[]).map(toNode);
}

/** Parses `findmnt --json --list -o SOURCE,TARGET,FSTYPE,MAJ:MIN`. */
export function parseFindmnt(json: string): Mount[] {
  const data = JSON.parse(json) as { filesystems?: Record<string, unknown>[] };
  return (data.filesystems ?? []).map((f) => ({
    source: str(f.source) ?? '',
    target: str(f.target) ?? '',
    fstype: str(f.fstype) ?? '',
    majMin: str(f['maj:min']) ?? '',
  }));
}

/** Every node in the tree below (and including) `node`, depth first. */
export function descendants(node: BlockNode): BlockNode[] {
  return [node, ...node.children.flatMap(descendants)];
}

/** Devices that are never write targets: RAM disks, compressed swap, empty slots, optical. */
export function isPseudo(node: { name: string; size: number; type: string }): boolean {
  return /^(zram|ram)\d+$/.test(node.name) || node.size === 0 || node.type === 'rom';
}

/**
 * Turns the lsblk tree plus the mount table into drives. A drive is a system drive when it,
 * or anything below it (partition, LVM, dm-crypt), holds a system mount or swap; findmnt
 * catches mounts lsblk misses (bind mounts, btrfs subvolumes) by major:minor.
 */
export function classifyDrives(nodes: BlockNode[], mounts: Mount[] = []): Drive[] {
  const drives: Drive[] = [];
  for (const top of nodes) {
    const all = descendants(top);
    const majMins = new Set(all.map((n) => n.majMin).filter(Boolean));
    const mountpoints = new Set(all.flatMap((n) => n.mountpoints));
    for (const m of mounts) if (m.majMin && majMins.has(m.majMin)) mountpoints.add(m.target);
    const systemReasons = [...mountpoints]
      .filter(isSystemMount)
      .sort()
      .map((m) => (m === '[SWAP]' ? 'holds swap' : `holds ${m}`));
    drives.push({
      path: top.path,
      name: top.name,
      majMin: top.majMin,
      type: top.type,
      size: top.size,
      model: top.model,
      vendor: top.vendor,
      serial: top.serial,
      wwn: top.wwn,
      transport: top.transport,
      removable: top.removable,
      hotplug: top.hotplug,
      readOnly: top.readOnly,
      logicalSectorSize: top.logicalSectorSize,
      fstype: top.fstype,
      label: top.label,
      pttype: top.pttype,
      parts: all.slice(1).map((n) => ({
        path: n.path,
        type: n.type,
        size: n.size,
        fstype: n.fstype,
        label: n.label ?? n.partlabel,
        mountpoints: n.mountpoints,
      })),
      mountpoints: [...mountpoints].sort(),
      systemReasons,
      isRemovable: top.removable || top.hotplug || top.transport === 'usb',
    });
  }
  return drives;
}

/** What `make-iso drives` shows: removable/USB non-system drives, or every drive with `all`. */
export function selectDrives(drives: Drive[], all: boolean): Drive[] {
  const real = drives.filter((d) => !isPseudo(d));
  return all ? real : real.filter((d) => d.isRemovable && d.systemReasons.length === 0);
}

/** Finds a node by "major:minor", with its top-level drive. */
export function findNode(nodes: BlockNode[], majMin: string): { node: BlockNode; top: BlockNode } | undefined {
  for (const top of nodes) {
    const node = descendants(top).find((n) => n.majMin === majMin);
    if (node) return { node, top };
  }
  return undefined;
}

/** util-linux before 2.37 has no MOUNTPOINTS column; ask those for MOUNTPOINT instead. */
async function runLsblk(): Promise<string> {
  const args = (cols: readonly string[]) => ['--json', '--bytes', '-o', cols.join(',')];
  try {
    return await run('lsblk', args(LSBLK_COLUMNS));
  } catch (err) {
    if (!(err instanceof ToolError) || !/unknown column/i.test(err.stderrTail)) throw err;
    return run('lsblk', args(LSBLK_COLUMNS.map((c) => (c === 'MOUNTPOINTS' ? 'MOUNTPOINT' : c))));
  }
}

export interface Inventory {
  nodes: BlockNode[];
  mounts: Mount[];
  drives: Drive[];
}

/** Reads lsblk and findmnt once. */
export async function readInventory(): Promise<Inventory> {
  return inContext('listing drives', async () => {
    const [lsblk, findmnt] = await Promise.all([
      runLsblk(),
      run('findmnt', ['--json', '--list', '-o', 'SOURCE,TARGET,FSTYPE,MAJ:MIN']).catch(() => '{"filesystems":[]}'),
    ]);
    const nodes = parseLsblk(lsblk);
    const mounts = parseFindmnt(findmnt);
    return { nodes, mounts, drives: classifyDrives(nodes, mounts) };
  });
}

/** Lists drives for `make-iso drives` (removable/USB only unless `all`). */
export async function listDrives(opts: { all?: boolean } = {}): Promise<Drive[]> {
  const { drives } = await readInventory();
  return selectDrives(drives, opts.all ?? false);
}
