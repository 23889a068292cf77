// Why: the rules that stop `make-iso write` from destroying the wrong disk, as pure functions
// over gathered facts, so every refusal is unit-tested without touching a real device.
import { formatBytes } from '../io/size.js';
import { descendants, isSystemMount, type BlockNode, type Drive } from './drives.js';

export type TargetKind = 'block' | 'file' | 'missing' | 'directory' | 'char' | 'other';

/** Everything known about a write target, gathered by `inspectTarget` (src/usb/target.ts). */
export interface TargetFacts {
  /** The path as the user gave it. */
  given: string;
  /** The path with symlinks resolved (/dev/disk/by-id/usb-... -> /dev/sdb). */
  path: string;
  kind: TargetKind;
  /** Regular file: its current size. */
  fileSize?: number;
  /** Missing path: whether its directory exists (so a new image file can be created). */
  parentExists?: boolean;
  /** Regular file: it is the ISO itself (same device and inode). */
  isSource?: boolean;
  /** Block device: the lsblk node it is (a disk, partition, or holder) ... */
  node?: BlockNode;
  /** ... and the whole drive that node belongs to, classified. */
  drive?: Drive;
}

export interface SourceFacts {
  size: number;
  /** "major:minor" of the filesystem holding the ISO, to refuse writing a drive onto itself. */
  majMin?: string;
}

export interface SafetyOptions {
  /** Allow overwriting the start of a larger existing image file (the output is replaced). */
  force?: boolean;
  /** Allow a non-removable, non-USB drive: an internal disk or a loop device. */
  allowInternalDisk?: boolean;
  /** Mounted (non-system) partitions will be unmounted first. */
  unmount?: boolean;
}

export type RefusalCode =
  | 'missing'
  | 'no-parent'
  | 'directory'
  | 'not-block'
  | 'unknown-device'
  | 'partition'
  | 'not-drive'
  | 'system'
  | 'holds-source'
  | 'in-use'
  | 'mounted'
  | 'read-only'
  | 'too-small'
  | 'not-removable'
  | 'is-source'
  | 'file-in-dev'
  | 'larger-file';

/** One reason not to write, as a single sentence that says how to fix it where it can be fixed. */
export interface Refusal {
  code: RefusalCode;
  message: string;
}

/** Device kinds below a drive that claim it (O_EXCL fails, writing would corrupt them). */
const HOLDER_TYPES = /^(lvm|crypt|dm|raid\d*|mpath|md)$/;

function describe(d: Drive): string {
  const bits = [d.vendor, d.model].filter(Boolean).join(' ');
  return [bits || null, formatBytes(d.size), d.transport].filter(Boolean).join(', ');
}

function checkFile(t: TargetFacts, src: SourceFacts, opts: SafetyOptions): Refusal[] {
  const out: Refusal[] = [];
  if (t.isSource) out.push({ code: 'is-source', message: `${t.given} is the ISO itself; give another path` });
  if (t.path.startsWith('/dev/')) {
    out.push({
      code: 'file-in-dev',
      message:
        `${t.given} is a regular file inside /dev, most likely left by an earlier write to a drive ` +
        `that was not plugged in; delete it, plug the drive in and run 'make-iso drives'`,
    });
  }
  const size = t.fileSize ?? 0;
  if (size > src.size && !opts.force) {
    out.push({
      code: 'larger-file',
      message:
        `${t.given} is an existing file larger than the ISO (${formatBytes(size)}); its start would be ` +
        `overwritten and the rest kept, like a drive; add --force to do that, or delete the file first`,
    });
  }
  return out;
}

function checkBlock(t: TargetFacts, src: SourceFacts, opts: SafetyOptions): Refusal[] {
  const { node, drive } = t;
  if (!node || !drive) {
    return [
      {
        code: 'unknown-device',
        message: `${t.given} is a block device that lsblk does not list; run 'make-iso drives --all' to see the drives`,
      },
    ];
  }
  if (node.type === 'part') {
    return [
      {
        code: 'partition',
        message: `${t.given} is a partition of ${drive.path}; write to the whole drive ${drive.path} instead (all of it is replaced)`,
      },
    ];
  }
  if (node.path !== drive.path) {
    return [
      {
        code: 'not-drive',
        message: `${t.given} is a ${node.type} device on ${drive.path}, not a whole drive; write to a drive such as ${drive.path}`,
      },
    ];
  }
  if ((drive.type !== 'disk' && drive.type !== 'loop') || /^(zram|ram)\d+$/.test(drive.name)) {
    const what = drive.type === 'disk' ? 'RAM disk' : `${drive.type} device`;
    return [{ code: 'not-drive', message: `${t.given} is a ${what}, not a drive` }];
  }
  if (drive.systemReasons.length > 0) {
    // Final: nothing else is worth saying about the drive the system runs from.
    return [
      {
        code: 'system',
        message: `${drive.path} is a system drive (${drive.systemReasons.join(', ')}); make-iso never writes to it`,
      },
    ];
  }
  const out: Refusal[] = [];
  if (src.majMin && descendants(node).some((n) => n.majMin === src.majMin)) {
    out.push({
      code: 'holds-source',
      message: `the ISO is stored on ${drive.path} itself; copy the ISO to another drive first`,
    });
  }
  const holders = descendants(node)
    .slice(1)
    .filter((n) => HOLDER_TYPES.test(n.type) && n.mountpoints.length === 0);
  if (holders.length > 0) {
    out.push({
      code: 'in-use',
      message:
        `${drive.path} is in use by ${holders.map((h) => `${h.type} device ${h.name}`).join(', ')}; ` +
        `close it first (vgchange -an, cryptsetup close, mdadm --stop)`,
    });
  }
  const mounted = descendants(node).filter((n) => n.mountpoints.length > 0);
  const userMounts = mounted.filter((n) => !n.mountpoints.some(isSystemMount));
  if (userMounts.length > 0 && !opts.unmount) {
    const list = userMounts.map((n) => `${n.path} on ${n.mountpoints.join(', ')}`).join('; ');
    out.push({
      code: 'mounted',
      message: `${drive.path} has mounted partitions (${list}); unmount them, or add --unmount`,
    });
  }
  if (drive.readOnly) {
    out.push({
      code: 'read-only',
      message: `${drive.path} is read-only; check the write-protect switch of the stick or card`,
    });
  }
  if (drive.size < src.size) {
    out.push({
      code: 'too-small',
      message: `${drive.path} is too small: ${formatBytes(drive.size)}, the ISO needs ${formatBytes(src.size)}`,
    });
  }
  if (!drive.isRemovable && !opts.allowInternalDisk) {
    out.push({
      code: 'not-removable',
      message: `${drive.path} (${describe(drive)}) is not a removable or USB drive; add --allow-internal-disk if you really mean to overwrite it`,
    });
  }
  return out;
}

/**
 * Every reason not to write the ISO to the target; empty means "safe to ask for confirmation".
 * System drives, partitions, read-only and too-small drives are refused whatever the options.
 */
export function checkTarget(t: TargetFacts, src: SourceFacts, opts: SafetyOptions = {}): Refusal[] {
  switch (t.kind) {
    case 'missing':
      if (t.path.startsWith('/dev/')) {
        return [
          {
            code: 'missing',
            message: `${t.given} does not exist; plug the drive in and run 'make-iso drives' to see its name`,
          },
        ];
      }
      return t.parentExists
        ? []
        : [{ code: 'no-parent', message: `${t.given}: its directory does not exist; create it or give another path` }];
    case 'directory':
      return [{ code: 'directory', message: `${t.given} is a directory, not a drive or an image file` }];
    case 'char':
    case 'other':
      return [
        {
          code: 'not-block',
          message: `${t.given} is not a block device (it is a ${t.kind === 'char' ? 'character device' : 'special file'}); give a whole drive such as /dev/sdb, or an image file path`,
        },
      ];
    case 'file':
      return checkFile(t, src, opts);
    case 'block':
      return checkBlock(t, src, opts);
  }
}

/** Mountpoints to unmount for --unmount, deepest first (nested mounts before their parents). */
export function mountsToUnmount(t: TargetFacts): string[] {
  if (!t.node) return [];
  return descendants(t.node)
    .flatMap((n) => n.mountpoints)
    .filter((m) => m !== '[SWAP]')
    .sort((a, b) => b.length - a.length);
}
