// Why: proves with the real xorriso, GRUB and mtools that the assembled ISO carries both
// BIOS and UEFI boot images, a GPT ESP for USB, and that two builds are byte-identical.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { assembleIso, bootFiles, isoLayout, staticIsoDir, treeFiles, writeBootFiles } from '../../../src/iso/assemble.js';
import { bootModesFromReport, inspectIso } from '../../../src/iso/inspect.js';
import { sha256File } from '../../../src/io/hash.js';
import { silent } from '../../../src/progress.js';
import { describeIsoContent } from '../../../src/cli/commands/write.js';

let dir: string;

async function build(name: string, workName: string): Promise<string> {
  const work = join(dir, workName);
  await mkdir(work, { recursive: true });
  const output = join(dir, name);
  const boot = bootFiles(work);
  await writeBootFiles(boot, 'set timeout=1\n', 'MAKEISO_TEST0001', 1700000000);
  const plan = isoLayout({
    output,
    volid: 'MAKEISO_TEST0001',
    epoch: 1700000000,
    kernel: join(dir, 'vmlinuz'),
    initramfs: join(dir, 'initrd'),
    boot,
    files: [...(await treeFiles(staticIsoDir, '')), { isoPath: 'images/os.raw.gz', hostPath: join(dir, 'os.raw.gz') }],
  });
  await assembleIso(plan, silent);
  return output;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mi-asm-'));
  await writeFile(join(dir, 'vmlinuz'), Buffer.alloc(1 << 20, 1));
  await writeFile(join(dir, 'initrd'), Buffer.alloc(2 << 20, 2));
  await writeFile(join(dir, 'os.raw.gz'), Buffer.alloc(1 << 20, 3));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('assembleIso', () => {
  it('writes an ISO with BIOS and UEFI El Torito images, a GRUB hybrid MBR and a GPT ESP', async () => {
    const iso = await build('a.iso', 'w1');
    const { stdout } = await execa('xorriso', ['-indev', iso, '-report_el_torito', 'plain', '-report_system_area', 'plain']);
    expect(stdout).toMatch(/El Torito boot img :\s+1\s+BIOS\s+y\s+none/);
    expect(stdout).toMatch(/El Torito boot img :\s+2\s+UEFI\s+y\s+none/);
    expect(bootModesFromReport(stdout)).toEqual(['bios-cd', 'bios-usb', 'uefi-cd', 'uefi-usb']);
    // the ESP as a disk partition, as firmware sees a USB stick
    const { stdout: sf } = await execa('sfdisk', ['-d', iso]);
    expect(sf).toMatch(/type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B/);
    const info = await inspectIso(iso);
    expect(info.volid).toBe('MAKEISO_TEST0001');
    expect(info.manifest).toBeUndefined();
  });

  it('puts BOOTX64.EFI into the ESP and the ISO tree, and the files where the contract says', async () => {
    const iso = await build('b.iso', 'w2');
    const { stdout } = await execa('xorriso', ['-indev', iso, '-find', '/', '-type', 'f']);
    for (const p of ['/boot/vmlinuz', '/boot/initrd.img', '/boot/grub/grub.cfg', '/EFI/BOOT/BOOTX64.EFI', '/images/os.raw.gz']) {
      expect(stdout).toContain(`'${p}'`);
    }
    const efiboot = await readFile(join(dir, 'w2', 'efiboot.img'));
    const { stdout: dirList } = await execa('mdir', ['-i', join(dir, 'w2', 'efiboot.img'), '-b', '::/EFI/BOOT']);
    expect(dirList).toMatch(/BOOTX64\.EFI/);
    expect(efiboot.length).toBeGreaterThan(0);
  });

  it('is reproducible: two builds in different work dirs give the same sha256', async () => {
    const one = await build('r1.iso', 'w3');
    await new Promise((r) => setTimeout(r, 1100));
    const two = await build('r2.iso', 'w4');
    expect(await sha256File(one)).toBe(await sha256File(two));
  });

  it('tells `write` what the source is: an ISO without a manifest, or a raw image', async () => {
    const iso = await build('d.iso', 'w5');
    expect(await describeIsoContent(iso)).toEqual(['the ISO (MAKEISO_TEST0001) was not made by make-iso (no manifest)']);
    expect(await describeIsoContent(join(dir, 'os.raw.gz'))).toEqual([
      'the source is not an ISO 9660 image; it is written as a raw disk image',
    ]);
  });
});
