// Why: the build learns from the OS image what answers can apply (cloud-init, chrony, sudo, sshd,
// edge_persistent) without writing a disk. These tests run the probe on small generated GPT
// images and check what it finds, what it refuses, and that it leaves no temp file behind.
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../../src/errors.js';
import { ESP_TYPE, guidString, probeOsImage } from '../../../src/io/image-probe.js';
import { registeredTemps } from '../../../src/io/temps.js';
import { FULL_ROOTFS, makeGptImage } from '../../helpers/gpt-image.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'make-iso-probe-test-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const probeTemps = () => readdirSync(tmpdir()).filter((n) => n.startsWith('make-iso-probe-') && !dir.endsWith(n));

describe('guidString', () => {
  it('reads the mixed-endian GPT GUID of an EFI system partition', () => {
    const onDisk = Buffer.from('28732ac11ff8d211ba4b00a0c93ec93b', 'hex');
    expect(guidString(onDisk)).toBe(ESP_TYPE);
  });
});

describe('probeOsImage', () => {
  it('finds cloud-init, chrony, sudo and sshd (through the /sbin symlink) and edge_persistent as the last partition', async () => {
    const img = makeGptImage(dir, 'full.raw.gz', FULL_ROOTFS);
    const before = probeTemps();
    const facts = await probeOsImage(img);
    expect(facts.has).toEqual({ cloudInit: true, chrony: true, sudo: true, sshd: true, containerEngine: true });
    expect(facts.layout.rootfs.name).toBe('rootfs');
    expect(facts.layout.esp.typeGuid).toBe(ESP_TYPE);
    expect(facts.layout.persistent).toMatchObject({ bytes: 2 * 2 ** 20, last: true });
    // only the rootfs's non-zero blocks were written, not the whole 8 MiB partition
    expect(facts.probedBytes).toBeGreaterThan(0);
    expect(facts.probedBytes).toBeLessThan(8 * 2 ** 20);
    expect(probeTemps()).toEqual(before);
    expect(registeredTemps().filter((p) => p.includes('make-iso-probe-'))).toEqual([]);
  });

  it('refuses a rootfs with an ext4 feature nothing can read or mount, naming it', async () => {
    const img = makeGptImage(dir, 'compressed.raw.gz', { ...FULL_ROOTFS, rootfsFeatures: ['compression'] });
    await expect(probeOsImage(img)).rejects.toThrow(
      /the rootfs of the OS image .*compressed\.raw\.gz uses ext4 features that cannot be read or mounted \(compression\)/,
    );
  });

  it('refuses a rootfs partition that is not ext2/3/4', async () => {
    const img = makeGptImage(dir, 'notext.raw.gz', { ...FULL_ROOTFS, rootfsFeatures: [] });
    const raw = gunzipSync(readFileSync(img));
    // the rootfs starts at 3 MiB (1 MiB GPT lead, 2 MiB esp): wipe its superblock magic
    raw.fill(0, 3 * 2 ** 20 + 1024, 3 * 2 ** 20 + 2048);
    writeFileSync(img, gzipSync(raw));
    await expect(probeOsImage(img)).rejects.toThrow(
      /the rootfs partition of the OS image .* is not an ext4 file system/,
    );
  });

  it('an image without cloud-init, chrony, sudo, sshd or edge_persistent says so', async () => {
    const img = makeGptImage(dir, 'bare.raw.gz', { files: { 'etc/hostname': 'x\n' }, persistent: 'none' });
    const facts = await probeOsImage(img);
    expect(facts.has).toEqual({ cloudInit: false, chrony: false, sudo: false, sshd: false, containerEngine: false });
    expect(facts.layout.persistent).toBeUndefined();
  });

  it('sees an edge_persistent that is not the last partition', async () => {
    const img = makeGptImage(dir, 'middle.raw.gz', { ...FULL_ROOTFS, persistent: 'before-rootfs' });
    const facts = await probeOsImage(img);
    expect(facts.layout.persistent?.last).toBe(false);
    expect(facts.has.cloudInit).toBe(true);
  });

  it('accepts rootfs_a, as the installer does', async () => {
    const img = makeGptImage(dir, 'ab.raw.gz', { ...FULL_ROOTFS, rootfsName: 'rootfs_a' });
    expect((await probeOsImage(img)).layout.rootfs.name).toBe('rootfs_a');
  });

  it('refuses an image without a rootfs partition, which the installer could not configure', async () => {
    const img = makeGptImage(dir, 'noroot.raw.gz', { ...FULL_ROOTFS, rootfsName: 'system' });
    const before = probeTemps();
    await expect(probeOsImage(img)).rejects.toThrow(UserError);
    await expect(probeOsImage(img)).rejects.toThrow(/no single GPT partition named rootfs/);
    expect(probeTemps()).toEqual(before);
  });

  it('refuses a gzip stream that ends before the end of the rootfs partition', async () => {
    const img = makeGptImage(dir, 'cut.raw.gz', FULL_ROOTFS);
    truncateSync(img, Math.floor(statSync(img).size / 2));
    await expect(probeOsImage(img)).rejects.toThrow(/(ends before the end of its rootfs|corrupt gzip|is truncated)/);
  });

  it('records the raw size, the raw sha256 and the ext4 features the installer would inflate the image to learn', async () => {
    const img = makeGptImage(dir, 'raw.raw.gz', FULL_ROOTFS);
    const raw = gunzipSync(readFileSync(img));
    const facts = await probeOsImage(img);
    expect(facts.raw.bytes).toBe(raw.length);
    expect(facts.raw.sha256).toBe(createHash('sha256').update(raw).digest('hex'));
    // rootfs at 3 MiB is the one ext4 partition (the esp and edge_persistent are blank here)
    const start = 3 * 2 ** 20;
    expect(facts.raw.ext4).toEqual([
      {
        name: 'rootfs',
        start,
        incompat: raw.readUInt32LE(start + 1024 + 0x60),
        roCompat: raw.readUInt32LE(start + 1024 + 0x64),
      },
    ]);
    expect(facts.raw.ext4[0]!.incompat & 0x40).toBe(0x40); // extent: a real superblock was read
  });

  it('refuses, at build time, a stream damaged after the rootfs (the installer would fail mid-write)', async () => {
    const img = makeGptImage(dir, 'tail.raw.gz', FULL_ROOTFS);
    const gz = readFileSync(img);
    const whole = Buffer.from(gz);
    // the gzip trailer's CRC32: the data inflates, the check at the end fails
    gz.writeUInt8(gz.readUInt8(gz.length - 8) ^ 1, gz.length - 8);
    writeFileSync(img, gz);
    await expect(probeOsImage(img)).rejects.toThrow(/tail\.raw\.gz is corrupt gzip data/);
    // cut inside the trailer: the whole disk inflates, the stream ends early
    writeFileSync(img, whole.subarray(0, whole.length - 4));
    await expect(probeOsImage(img)).rejects.toThrow(/tail\.raw\.gz is truncated \(its gzip stream ends early\)/);
  });
});
