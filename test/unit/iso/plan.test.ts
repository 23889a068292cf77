// Why: the xorriso command line decides whether the ISO boots by BIOS and UEFI from CD and
// USB; these tests pin the parts that make each boot path work.
import { describe, expect, it } from 'vitest';
import { isoTimestamp, xorrisoArgs, type IsoPlan } from '../../../src/iso/plan.js';

const plan: IsoPlan = {
  output: '/out/x.iso.tmp',
  volid: 'MAKEISO_0123ABCD',
  epoch: 1700000000,
  grubMbr: '/usr/lib/grub/i386-pc/boot_hybrid.img',
  biosBootImage: 'boot/grub/i386-pc/eltorito.img',
  efiImage: '/w/efiboot.img',
  files: [
    { isoPath: 'boot/vmlinuz', hostPath: '/w/k' },
    { isoPath: 'boot/grub/i386-pc/eltorito.img', hostPath: '/w/eltorito.img' },
    { isoPath: 'images/a=b.raw.gz', hostPath: '/in/a=b.raw.gz' },
  ],
};

function after(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}

describe('xorrisoArgs', () => {
  const args = xorrisoArgs(plan);

  it('boots by BIOS from CD (El Torito no-emulation GRUB image) and USB (GRUB hybrid MBR)', () => {
    expect(after(args, '-b')).toBe('boot/grub/i386-pc/eltorito.img');
    expect(args).toContain('-no-emul-boot');
    expect(args).toContain('--grub2-boot-info');
    expect(after(args, '--grub2-mbr')).toBe(plan.grubMbr);
  });

  it('boots by UEFI from USB (ESP as GPT partition 2) and CD (same image as El Torito EFI entry)', () => {
    const i = args.indexOf('-append_partition');
    expect(args.slice(i, i + 4)).toEqual(['-append_partition', '2', 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B', '/w/efiboot.img']);
    expect(args).toContain('-appended_part_as_gpt');
    expect(after(args, '-e')).toBe('--interval:appended_partition_2:all::');
    expect(args.indexOf('-eltorito-alt-boot')).toBeLessThan(args.indexOf('-e'));
  });

  it('fixes every timestamp for reproducible output', () => {
    expect(args).toContain('--modification-date=2023111422132000');
    expect(after(args, '--set_all_file_dates')).toBe('2023111422132000');
  });

  it('sorts graft points and escapes = in paths', () => {
    const grafts = args.slice(args.indexOf('-graft-points') + 1);
    expect(grafts).toEqual([
      '/boot/grub/i386-pc/eltorito.img=/w/eltorito.img',
      '/boot/vmlinuz=/w/k',
      '/images/a\\=b.raw.gz=/in/a\\=b.raw.gz',
    ]);
  });

  it('refuses a bad volume id, a missing boot image, duplicate or escaping paths', () => {
    expect(() => xorrisoArgs({ ...plan, volid: 'lower' })).toThrow(/volume id/);
    expect(() => xorrisoArgs({ ...plan, volid: 'A'.repeat(33) })).toThrow(/volume id/);
    expect(() => xorrisoArgs({ ...plan, files: plan.files.slice(0, 1) })).toThrow(/BIOS boot image/);
    expect(() => xorrisoArgs({ ...plan, files: [...plan.files, plan.files[0]!] })).toThrow(/twice/);
    expect(() => xorrisoArgs({ ...plan, files: [...plan.files, { isoPath: '../x', hostPath: '/x' }] })).toThrow(
      /invalid ISO path/,
    );
  });

  it('formats timestamps in GMT', () => {
    expect(isoTimestamp(0)).toBe('1970010100000000');
  });
});
