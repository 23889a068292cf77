// Why: the installer kernel command line in one pure function: the bootkit's required args,
// tmpfs size, consoles, the USB settle fixes the field needed, the media id, user extras.

/** Args every EMT bootkit needs (see shared/reference: emt-bootkit.md). */
export const BOOTKIT_REQUIRED_ARGS = ['root=tmpfs', 'rd.skipfsck', 'noresume', 'modules-load=nbd'] as const;

/** Added after USB sticks were not detected in time on real nodes. */
export const USB_SETTLE_ARGS = ['usbcore.delay_ms=2000', 'usbcore.autosuspend=-1'] as const;

export interface KernelArgsInput {
  volid: string;
  /** tmpfs size for the root, e.g. '2G'; empty keeps the bootkit's default. */
  tmpfsSize?: string;
  /** Serial console; default ttyS0 at 115200; null: screen only. */
  console?: { port: string; speed: number } | null;
  extra?: readonly string[];
}

export function kernelArgs(input: KernelArgsInput): string[] {
  const serial = serialConsole(input.console);
  const args: string[] = [
    ...BOOTKIT_REQUIRED_ARGS,
    input.tmpfsSize ? `rootflags=size=${input.tmpfsSize},mode=0755` : 'rootflags=mode=0755',
    'console=tty0',
    // the last console= is /dev/console: serial, so headless nodes show the installer
    ...(serial ? [`console=${serial.port},${serial.speed}`] : []),
    ...USB_SETTLE_ARGS,
    `makeiso.volid=${input.volid}`,
  ];
  // a user's key=value overrides a default with the same key
  for (const extra of input.extra ?? []) {
    const key = extra.split('=')[0]!;
    const i = args.findIndex((a) => a.split('=')[0] === key && key !== 'console');
    if (i >= 0 && extra.includes('=')) args.splice(i, 1);
    args.push(extra);
  }
  return args;
}

/** The serial console to use: the given one, the default (ttyS0 at 115200), or none for null. */
export function serialConsole(
  console: { port: string; speed: number } | null | undefined,
): { port: string; speed: number } | undefined {
  if (console === null) return undefined;
  return { port: console?.port ?? 'ttyS0', speed: console?.speed ?? 115200 };
}

/** Serial unit number GRUB wants for a Linux port name (ttyS0 -> 0). */
export function serialUnit(port: string): number {
  const m = /^ttyS(\d+)$/.exec(port);
  return m ? Number(m[1]) : 0;
}
