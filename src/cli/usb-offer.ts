// Why: the wizard's "write it to a USB stick now?" after a build: lists removable drives and
// runs the same checks, confirmation and verified write as `make-iso write`.
import { formatBytes } from '../io/size.js';
import { listDrives, selectDrives, type Drive } from '../usb/drives.js';
import type { Cli } from './context.js';
import { runWrite } from './commands/write.js';

/** The slice of src/cli/prompts.ts `Prompts` this needs (structural, so tests pass fakes). */
export interface OfferPrompts {
  confirm(message: string, opts?: { default?: boolean }): Promise<boolean>;
  select<T>(message: string, choices: ReadonlyArray<{ name: string; value: T; description?: string }>): Promise<T>;
  text(message: string, opts?: { default?: string }): Promise<string>;
}

/** One line per drive for the choice list. */
export function driveChoiceName(d: Drive): string {
  const model = [d.vendor, d.model].filter(Boolean).join(' ') || 'unknown model';
  const mounted = d.mountpoints.length > 0 ? `, mounted on ${d.mountpoints.join(', ')}` : '';
  return `${d.path}  ${formatBytes(d.size)}  ${model}${d.serial ? ` (${d.serial})` : ''}${mounted}`;
}

/**
 * Returns the wizard's `afterBuild` hook. Only removable/USB, non-system drives are offered (the
 * offer applies that rule itself to whatever `list` returns);
 * the user still types the device name, exactly as with `make-iso write`.
 */
export function usbWriteOffer(
  cli: Cli,
  list: () => Promise<Drive[]> = () => listDrives({ all: true }),
): (isoPath: string, prompts: OfferPrompts) => Promise<void> {
  return async (isoPath, prompts) => {
    if (!(await prompts.confirm('Write the ISO to a USB drive now?', { default: false }))) return;
    const drives = selectDrives(await list(), false);
    if (drives.length === 0) {
      cli.err(`no removable or USB drives found; plug one in and run: make-iso write ${isoPath} /dev/sdX`);
      return;
    }
    const device = await prompts.select('Which drive? (everything on it will be destroyed)', [
      ...drives.map((d) => ({ name: driveChoiceName(d), value: d.path })),
      { name: 'none: do not write', value: '' },
    ]);
    if (!device) return;
    const drive = drives.find((d) => d.path === device);
    const unmount =
      (drive?.mountpoints.length ?? 0) > 0 &&
      (await prompts.confirm(`Unmount ${drive?.mountpoints.join(', ')} first?`, { default: true }));
    await runWrite(
      cli,
      isoPath,
      device,
      { verify: true, unmount },
      {
        canPrompt: () => true,
        confirmTyped: async (question, expected, alsoAccept = []) => {
          const answer = (await prompts.text(question)).trim();
          return answer === expected || alsoAccept.includes(answer);
        },
      },
    );
  };
}
