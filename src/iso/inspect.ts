// Why: `make-iso inspect` and `make-iso write` read what an ISO holds (boot modes from
// xorriso's own report, the make-iso manifest) without mounting it.
import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MissingToolError, UserError } from '../errors.js';
import { run } from '../exec.js';
import { makeTempDir, removeTemp } from '../io/temps.js';
import { MANIFEST_ISO_PATH, parseManifest, type Manifest } from '../manifest.js';

export type BootMode = 'bios-cd' | 'bios-usb' | 'uefi-cd' | 'uefi-usb';

/** The ESP type GUID as xorriso prints it (mixed-endian bytes). */
const ESP_GUID_XORRISO = '28732ac11ff8d211ba4b00a0c93ec93b';

/** Boot modes an ISO supports, from `xorriso -report_el_torito plain -report_system_area plain`. */
export function bootModesFromReport(report: string): BootMode[] {
  const modes: BootMode[] = [];
  const lines = report.split('\n');
  const img = lines.filter((l) => l.startsWith('El Torito boot img :'));
  if (img.some((l) => /\sBIOS\s/.test(l))) modes.push('bios-cd');
  const summary = lines.find((l) => l.startsWith('System area summary:')) ?? '';
  if (/grub2-mbr|isohybrid/.test(summary)) modes.push('bios-usb');
  if (img.some((l) => /\sUEFI\s/.test(l))) modes.push('uefi-cd');
  const espInGpt = lines.some((l) => l.startsWith('GPT type GUID') && l.includes(ESP_GUID_XORRISO));
  const espInMbr = lines.some((l) => /^MBR partition\s*:\s*\d+\s+0x\d\d\s+0xef\s/.test(l));
  if (espInGpt || espInMbr) modes.push('uefi-usb');
  return modes;
}

export interface IsoInfo {
  path: string;
  size: number;
  volid: string;
  bootModes: BootMode[];
  manifest?: Manifest;
  /** The `linux` lines of the ISO's grub.cfg (kernel args as booted). */
  grubLinuxLines: string[];
}

async function extract(iso: string, isoPath: string, dir: string): Promise<string | undefined> {
  const target = join(dir, isoPath.replace(/\//g, '_'));
  try {
    await run('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', `/${isoPath}`, target]);
    return await readFile(target, 'utf8');
  } catch (err) {
    if (err instanceof MissingToolError) throw err;
    return undefined;
  }
}

/** ISO 9660 puts its primary volume descriptor at 32 KiB: type byte 1, then "CD001". */
async function hasIso9660Signature(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(6);
    const { bytesRead } = await fh.read(buf, 0, 6, 32768);
    return bytesRead === 6 && buf.subarray(1).toString('latin1') === 'CD001';
  } finally {
    await fh.close();
  }
}

/** A malformed manifest is the ISO's problem, said in one line (not an internal error). */
function parseManifestOrExplain(iso: string, text: string): Manifest {
  try {
    return parseManifest(text);
  } catch (err) {
    throw new UserError(
      `${iso} carries a malformed make-iso manifest (/${MANIFEST_ISO_PATH}): ${(err as Error).message.split('\n')[0]}`,
      { cause: err },
    );
  }
}

export async function inspectIso(iso: string): Promise<IsoInfo> {
  const s = await stat(iso).catch(() => undefined);
  if (!s) throw new UserError(`${iso} does not exist`);
  if (!s.isFile() && !s.isBlockDevice()) throw new UserError(`${iso} is not a file or block device`);
  if (!(await hasIso9660Signature(iso))) {
    throw new UserError(`${iso} is not an ISO 9660 image (no CD001 volume descriptor at 32 KiB)`);
  }
  let report: string;
  try {
    report = await run('xorriso', ['-indev', iso, '-pvd_info', '-report_el_torito', 'plain', '-report_system_area', 'plain']);
  } catch (err) {
    if (err instanceof MissingToolError) throw err; // a missing xorriso is never "not an ISO"
    throw new UserError(`${iso} is not an ISO 9660 image xorriso can read`, { cause: err });
  }
  const volid = /^Volume Id\s*:\s*(.*)$/m.exec(report)?.[1]?.trim() ?? '';
  const dir = await makeTempDir('make-iso-inspect');
  try {
    const manifestText = await extract(iso, MANIFEST_ISO_PATH, dir);
    const grubCfg = (await extract(iso, 'boot/grub/grub.cfg', dir)) ?? '';
    return {
      path: iso,
      size: s.size,
      volid,
      bootModes: bootModesFromReport(report),
      manifest: manifestText ? parseManifestOrExplain(iso, manifestText) : undefined,
      grubLinuxLines: grubCfg
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l.startsWith('linux ')),
    };
  } finally {
    await removeTemp(dir);
  }
}
