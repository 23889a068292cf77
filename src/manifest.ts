// Why: the provenance manifest written to /.make-iso/manifest.json on every ISO: what went
// in (with hashes), what was added and masked, so `inspect`, `write` and the installer can
// check an ISO without trusting its file names. Never holds secrets.

export const MANIFEST_ISO_PATH = '.make-iso/manifest.json';

export interface Manifest {
  schema: 1;
  makeIso: { version: string };
  volid: string;
  /** SOURCE_DATE_EPOCH used for every timestamp in the ISO. */
  epoch: number;
  bootkit: {
    source: string;
    sha256: string;
    kernel: { name: string; version: string; sha256: string };
    initramfs: { name: string; sha256: string };
  };
  osImage: { name: string; isoPath: string; sha256: string; size: number };
  answers: { digest: string; redacted: unknown };
  kernelArgs: string[];
  bootModes: Array<'bios-cd' | 'bios-usb' | 'uefi-cd' | 'uefi-usb'>;
  initramfsMode: 'overlay' | 'rewrite';
  services: { masked: string[]; found: string[] };
  /** Files the generator added to the bootkit root filesystem. */
  rootfsAdded: Array<{ path: string; sha256?: string; symlink?: string }>;
  /** Every file on the ISO except the manifest itself. */
  isoFiles: Array<{ path: string; sha256: string; size: number }>;
}

export function parseManifest(text: string): Manifest {
  const m = JSON.parse(text) as Manifest;
  if (m?.schema !== 1 || typeof m.volid !== 'string') throw new Error('not a make-iso manifest');
  return m;
}
