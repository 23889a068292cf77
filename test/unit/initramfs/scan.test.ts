// Why: the scan must report layout, units, tools and kernel version without writing to disk.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanBootkitInitramfs } from '../../../src/initramfs/scan.js';
import { parseRequirements } from '../../../src/requirements.js';
import { UserError } from '../../../src/errors.js';
import type { ProgressEvent } from '../../../src/progress.js';
import { buildInitramfsIn, KVER, makeInitramfs, tempDir } from '../../helpers/initramfs-fixtures.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir()));
afterAll(() => cleanup());

/** A requirements list of these tools (Debian and RPM package = the tool's name). */
const toolRows = (...names: string[]) =>
  parseRequirements(
    ['kind\tname\twhen\tmodules\trpm\tdeb\tused', ...names.map((n) => `tool\t${n}\talways\t-\t${n}\t${n}\ttest`)].join(
      '\n',
    ),
  );
const missing = (s: { missing: Array<{ requirement: { name: string }; reason?: string }> }) =>
  s.missing.map((m) => [m.requirement.name, m.reason]);

const build = (name: string, opts: Parameters<typeof makeInitramfs>[2]): Promise<string> =>
  buildInitramfsIn(dir, name, opts);

describe('scanBootkitInitramfs', () => {
  it('reports layout, cmdline, kernel, units and tools of a microcode-prefixed gzip initramfs', async () => {
    const img = await build('mc', { compression: 'gzip', microcode: true });
    const events: ProgressEvent[] = [];
    const s = await scanBootkitInitramfs(img, {
      units: ['tink-worker', 'caddy.service', 'fluent-bit', 'device-discovery', 'sshd'],
      progress: (e) => events.push(e),
      requirements: toolRows('gawk', 'awk'),
    });
    expect(events.map((e) => `${e.step}:${e.kind}`)).toEqual(['scan-initramfs:start', 'scan-initramfs:end']);
    expect(events.at(-1)).toMatchObject({ done: s.size, total: s.size });
    expect(s.archives.map((a) => a.compression)).toEqual(['none', 'gzip']);
    expect(s.rootfs).toMatchObject({ archive: 1, name: 'rootfs.tar.gz', dotSlash: true });
    expect(s.rootfs.entries).toBeGreaterThan(20);
    expect(s.cmdline).toEqual([
      { path: 'etc/cmdline.d/95root-dev.conf', content: 'root=tmpfs rootflags=size=1G,mode=0755\n' },
    ]);
    expect(s.kernelVersion).toBe(KVER);
    expect(s.kernelVersions).toEqual({ initramfs: [KVER], rootfs: [KVER] });
    const byName = Object.fromEntries(s.units.map((u) => [u.name, u]));
    expect(byName['tink-worker.service']).toEqual({
      name: 'tink-worker.service',
      present: true,
      paths: ['usr/lib/systemd/system/tink-worker.service'],
      enabledIn: ['multi-user.target.wants'],
      masked: false,
    });
    expect(byName['device-discovery.service']!.present).toBe(false);
    expect(byName['sshd.service']!.enabledIn).toEqual(['multi-user.target.wants']);
    // the tools are found (awk through its symlink), but they are #!/bin/sh scripts and the tree has no sh
    expect(missing(s)).toEqual([
      ['gawk', 'its interpreter /bin/sh is missing'],
      ['awk', 'its interpreter /bin/sh is missing'],
    ]);
  });

  it.each(['zstd', 'xz', 'none'] as const)('reads a %s initramfs and names missing tools', async (c) => {
    const img = await build(`c-${c}`, { compression: c, withIfconfig: false });
    const s = await scanBootkitInitramfs(img, { requirements: toolRows('ifconfig') });
    expect(s.archives.map((a) => a.compression)).toEqual([c]);
    expect(missing(s)).toEqual([['ifconfig', undefined]]);
    expect(s.units.filter((u) => u.present).map((u) => u.name)).toEqual([
      'tink-worker.service',
      'caddy.service',
      'fluent-bit.service',
    ]);
  });

  it('says clearly when there is no rootfs.tar.gz', async () => {
    const img = await build('norootfs', { rootfs: false });
    const err = await scanBootkitInitramfs(img).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/is not a bootkit initramfs: no rootfs.tar.gz inside/);
  });
});
