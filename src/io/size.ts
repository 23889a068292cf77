// Why: one size formatter for every message, listing and summary (there were three).

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** Binary size, like lsblk: "14.9 GiB", "512 MiB", "4096 B". */
export function formatBytes(n: number): string {
  let v = n;
  let i = 0;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${UNITS[i]}`;
}
