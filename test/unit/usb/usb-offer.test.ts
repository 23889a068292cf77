// Why: the wizard's offer to write the built ISO must only list removable drives and stop cleanly when declined.
import { describe, expect, it } from 'vitest';
import type { Cli } from '../../../src/cli/context.js';
import { driveChoiceName, usbWriteOffer, type OfferPrompts } from '../../../src/cli/usb-offer.js';
import { selectDrives } from '../../../src/usb/drives.js';
import { sample } from './lsblk-samples.js';

function fakeCli(lines: string[]): Cli {
  return {
    out: (l) => lines.push(l),
    err: (l) => lines.push(l),
    setExitCode: () => {},
    progress: () => {},
    isTTY: true,
  };
}

function prompts(answers: { confirm: boolean[]; select?: string }, seen: string[][] = []): OfferPrompts {
  return {
    confirm: async () => answers.confirm.shift() ?? false,
    select: async <T>(_m: string, choices: ReadonlyArray<{ name: string; value: T }>) => {
      seen.push(choices.map((c) => c.name));
      return (answers.select ?? '') as T;
    },
    text: async () => '',
  };
}

describe('usbWriteOffer', () => {
  // Every drive of the sample, the system NVMe disk included: the offer must filter them itself.
  const all = sample('laptop-nvme-usb').drives;

  it('does nothing when declined', async () => {
    const lines: string[] = [];
    let listed = false;
    await usbWriteOffer(fakeCli(lines), async () => ((listed = true), all))('a.iso', prompts({ confirm: [false] }));
    expect(listed).toBe(false);
    expect(lines).toEqual([]);
  });

  it('says how to write later when no removable drive is plugged in', async () => {
    const lines: string[] = [];
    await usbWriteOffer(fakeCli(lines), async () => [])('out/a.iso', prompts({ confirm: [true] }));
    expect(lines).toEqual(['no removable or USB drives found; plug one in and run: make-iso write out/a.iso /dev/sdX']);
  });

  it('offers only the removable, non-system drives, plus "none"', async () => {
    expect(all.map((d) => d.path)).toEqual(expect.arrayContaining(['/dev/nvme0n1', '/dev/sda']));
    const seen: string[][] = [];
    await usbWriteOffer(fakeCli([]), async () => all)('a.iso', prompts({ confirm: [true], select: '' }, seen));
    expect(seen[0]).toEqual([
      '/dev/sda  14.5 GiB  Kingston DataTraveler 3.0 (E0D55EA573F1F4B0A9D20C2F), mounted on /media/alice/KINGSTON',
      'none: do not write',
    ]);
  });

  it('names drives by path, size, model and serial', () => {
    const sdc = selectDrives(sample('server-sata').drives, false)[0];
    expect(sdc && driveChoiceName(sdc)).toBe('/dev/sdc  28.9 GiB  SanDisk Ultra Fit (4C530001230904112345)');
  });
});
