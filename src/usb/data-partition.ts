// Why: `make-iso write --data-partition` adds a FAT partition after the written ISO so the
// installer can leave its log on the stick; the placement is pure and tested, the rest is sfdisk.
import { UserError } from '../errors.js';
import { run } from '../exec.js';
import { formatBytes } from '../io/size.js';
import { LOG_PARTITION_LABEL } from '../facts.js';

/** The contract with installer-scripts/: the installer copies its log to the filesystem with this label. */
export const DATA_PARTITION = {
  /** FAT volume label (at most 11 characters). */
  fsLabel: LOG_PARTITION_LABEL,
  /** GPT partition name. */
  partName: 'make-iso data',
  /** Microsoft basic data: every OS mounts it, so logs can be read anywhere. */
  gptType: 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7',
  /** FAT32 (LBA) for MBR-only images. */
  mbrType: '0c',
} as const;

/** The smallest data partition worth making. */
const MIN_BYTES = 8 * 1024 * 1024;
const ALIGN_BYTES = 1024 * 1024;

export interface PartitionTable {
  label: 'gpt' | 'dos';
  sectorSize: number;
  partitions: { start: number; size: number }[];
}

export interface DataPartitionPlan {
  label: 'gpt' | 'dos';
  sectorSize: number;
  /** In sectors. */
  start: number;
  size: number;
}

/** Parses `sfdisk --json` output. */
export function parseSfdisk(json: string): PartitionTable {
  const t = (JSON.parse(json) as { partitiontable?: Record<string, unknown> }).partitiontable;
  if (!t) throw new Error('sfdisk printed no partition table');
  const label = t.label;
  if (label !== 'gpt' && label !== 'dos') throw new Error(`unsupported partition table type ${String(label)}`);
  const parts = Array.isArray(t.partitions) ? (t.partitions as { start?: unknown; size?: unknown }[]) : [];
  return {
    label,
    sectorSize: Number(t.sectorsize ?? 512),
    partitions: parts.map((p) => ({ start: Number(p.start), size: Number(p.size) })),
  };
}

/**
 * Where the data partition goes: after the ISO's last byte and every existing partition,
 * aligned to 1 MiB, up to the end of the device (minus the backup GPT) or `wantBytes`.
 */
export function planDataPartition(
  table: PartitionTable,
  isoBytes: number,
  deviceBytes: number,
  wantBytes?: number,
): DataPartitionPlan {
  const ss = table.sectorSize;
  const align = ALIGN_BYTES / ss;
  const used = Math.max(Math.ceil(isoBytes / ss), ...table.partitions.map((p) => p.start + p.size));
  const start = Math.ceil(used / align) * align;
  // GPT keeps a backup header (1 sector) and entry array (32 sectors) at the very end.
  const last = Math.floor(deviceBytes / ss) - (table.label === 'gpt' ? 34 : 0);
  let size = last - start + 1;
  if (wantBytes !== undefined) size = Math.min(size, Math.floor(wantBytes / ss));
  size -= size % align;
  if (size * ss < MIN_BYTES) {
    throw new UserError(
      `no room for a data partition: ${formatBytes(Math.max(0, (last - start + 1) * ss))} free after the ISO, at least ${formatBytes(MIN_BYTES)} needed; use a larger drive or leave out --data-partition`,
    );
  }
  return { label: table.label, sectorSize: ss, start, size };
}

/** Parses "512M", "2G", "100MiB" into bytes. */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(i?B)?\s*$/i.exec(text);
  if (!m) throw new UserError(`"${text}" is not a size; write it like 512M or 2G`);
  const power = ' KMGT'.indexOf((m[2] ?? '').toUpperCase() || ' ');
  return Math.floor(Number(m[1]) * 1024 ** power);
}

/** The partition table of a (hybrid) ISO file or a drive; a UserError when there is none. */
export async function readPartitionTable(path: string): Promise<PartitionTable> {
  let json: string;
  try {
    json = await run('sfdisk', ['--json', path]);
  } catch (err) {
    throw new UserError(
      `${path} has no partition table (not a hybrid ISO), so no data partition can be added after it; leave out --data-partition`,
      { cause: err },
    );
  }
  return parseSfdisk(json);
}

/**
 * Adds the data partition to a freshly written ISO on `target` (drive or image file) and
 * makes a FAT filesystem in it. For GPT, the backup header first moves to the device's end.
 */
export async function addDataPartition(
  target: string,
  isoBytes: number,
  deviceBytes: number,
  wantBytes?: number,
): Promise<DataPartitionPlan> {
  const table = await readPartitionTable(target);
  if (table.label === 'gpt') await run('sfdisk', ['--quiet', '--relocate', 'gpt-bak-std', target]);
  const plan = planDataPartition(table, isoBytes, deviceBytes, wantBytes);
  const line =
    table.label === 'gpt'
      ? `start=${plan.start}, size=${plan.size}, type=${DATA_PARTITION.gptType}, name="${DATA_PARTITION.partName}"`
      : `start=${plan.start}, size=${plan.size}, type=${DATA_PARTITION.mbrType}`;
  await run('sfdisk', ['--quiet', '--append', '--no-reread', '--no-tell-kernel', target], { input: `${line}\n` });
  await run('mkfs.fat', [
    '-I',
    '-n',
    DATA_PARTITION.fsLabel,
    '-S',
    String(plan.sectorSize),
    `--offset=${plan.start}`,
    target,
    String(Math.floor((plan.size * plan.sectorSize) / 1024)),
  ]);
  return plan;
}
