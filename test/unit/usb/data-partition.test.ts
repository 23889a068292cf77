// Why: the data partition must never overlap the ISO or its partitions, nor the backup GPT; test the placement rules.
import { describe, expect, it } from 'vitest';
import { DATA_PARTITION, parseSfdisk, parseSize, planDataPartition } from '../../../src/usb/data-partition.js';
import { UserError } from '../../../src/errors.js';

const MiB = 1024 * 1024;
/** `sfdisk --json` of a grub-mkrescue ISO (19.3 MiB, GPT with ESP and gap partitions). */
const GRUB_ISO = JSON.stringify({
  partitiontable: {
    label: 'gpt',
    unit: 'sectors',
    firstlba: 64,
    lastlba: 39530,
    sectorsize: 512,
    partitions: [
      { node: 't.iso1', start: 64, size: 224, name: 'Gap0' },
      { node: 't.iso2', start: 288, size: 5760, name: 'EFI boot partition' },
      { node: 't.iso3', start: 6048, size: 32880, name: 'HFSPLUS' },
      { node: 't.iso4', start: 38928, size: 600, name: 'Gap1' },
    ],
  },
});
const ISO_BYTES = 39576 * 512;

describe('planDataPartition', () => {
  it('starts at the first MiB boundary after the ISO and stops before the backup GPT', () => {
    const plan = planDataPartition(parseSfdisk(GRUB_ISO), ISO_BYTES, 64 * MiB);
    expect(plan).toEqual({ label: 'gpt', sectorSize: 512, start: 40960, size: 88064 });
    expect(plan.start * 512).toBeGreaterThanOrEqual(ISO_BYTES);
    expect((plan.start + plan.size) * 512).toBeLessThanOrEqual(64 * MiB - 34 * 512);
  });

  it('stays after a partition that reaches past the ISO end', () => {
    const t = { label: 'gpt' as const, sectorSize: 512, partitions: [{ start: 64, size: 50000 }] };
    expect(planDataPartition(t, ISO_BYTES, 64 * MiB).start).toBe(51200);
  });

  it('honours a requested size, rounded down to whole MiB', () => {
    const plan = planDataPartition(parseSfdisk(GRUB_ISO), ISO_BYTES, 1024 * MiB, 16.5 * MiB);
    expect(plan.size * 512).toBe(16 * MiB);
  });

  it('uses the whole end of an MBR-only image (no backup table)', () => {
    const t = { label: 'dos' as const, sectorSize: 512, partitions: [{ start: 0, size: 39576 }] };
    const plan = planDataPartition(t, ISO_BYTES, 64 * MiB);
    expect(plan.start + plan.size).toBe((64 * MiB) / 512);
  });

  it('refuses when less than 8 MiB is left after the ISO', () => {
    expect(() => planDataPartition(parseSfdisk(GRUB_ISO), ISO_BYTES, ISO_BYTES)).toThrow(UserError);
    expect(() => planDataPartition(parseSfdisk(GRUB_ISO), ISO_BYTES, 25 * MiB)).toThrow(
      /no room for a data partition: .* free after the ISO, at least 8\.0 MiB needed/,
    );
  });
});

describe('parseSfdisk / parseSize / contract', () => {
  it('rejects tables it cannot extend', () => {
    expect(() => parseSfdisk('{"partitiontable":{"label":"sun"}}')).toThrow(/unsupported partition table type sun/);
  });

  it('reads sizes like 512M, 2G, 1.5GiB', () => {
    expect(parseSize('512M')).toBe(512 * MiB);
    expect(parseSize('2G')).toBe(2048 * MiB);
    expect(parseSize('1.5GiB')).toBe(1536 * MiB);
    expect(() => parseSize('lots')).toThrow(/is not a size/);
  });

  it('keeps the FAT label within 11 characters', () => {
    expect(DATA_PARTITION.fsLabel.length).toBeLessThanOrEqual(11);
  });
});
