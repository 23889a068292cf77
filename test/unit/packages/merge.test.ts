// Why: packages laid over a bootkit must supply what it lacks, and the build must refuse when an
// added program (or a required tool) cannot find a library, loader or #! interpreter in the
// merged root, naming each missing library and who needs it. Real host ELF files, real scan.
import { copyFile, mkdir, readFile, symlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../../src/errors.js';
import { scanBootkitInitramfs } from '../../../src/initramfs/scan.js';
import type { PackageContents, PackageEntry } from '../../../src/packages/entries.js';
import { mergePackages } from '../../../src/packages/merge.js';
import { parseRequirements } from '../../../src/requirements.js';
import { rootfsChange } from '../../../src/build/plan.js';
import { normalizeChange } from '../../../src/rootfs/change.js';
import { makeTar, sh, tempDir } from '../../helpers/initramfs-fixtures.js';

const REQS = parseRequirements(
  [
    'kind\tname\twhen\tmodules\trpm\tdeb\tused',
    'tool\tsfdisk\talways\t-\tutil-linux\tfdisk\timage.sh',
    'tool\tsh\talways\t-\tbash\tdash\tscripts',
    'tool\tawkish\toptional\t-\tgawk\tgawk\tnothing',
  ].join('\n'),
);

let dir: string;
let cleanup: () => Promise<void>;
let libfdisk: string;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('make-iso-merge-'));
  libfdisk = (await sh(`ldd /usr/sbin/sfdisk | grep -oE '/[^ ]*libfdisk[^ ]*'`)).trim();
});
afterAll(() => cleanup());

/** A usr-merged bootkit with sh and every library sfdisk needs except libfdisk, but no sfdisk. */
async function bootkit(name: string, opts: { withModule?: boolean } = {}): Promise<string> {
  const work = join(dir, name);
  const root = join(work, 'root');
  for (const l of ['bin', 'sbin', 'lib', 'lib64']) {
    await mkdir(join(root, 'usr', l), { recursive: true });
    await symlink(`usr/${l}`, join(root, l));
  }
  await copyFile('/bin/sh', join(root, 'usr/bin/sh'));
  for (const bin of ['/usr/sbin/sfdisk', '/bin/sh']) {
    for (const lib of (await sh(`ldd ${bin} | grep -oE '/[^ ]+'`)).split('\n').filter(Boolean)) {
      if (lib.includes('libfdisk')) continue;
      await mkdir(dirname(join(root, lib)), { recursive: true });
      await copyFile(await sh(`readlink -f ${lib}`).then((s) => s.trim()), join(root, lib));
    }
  }
  await mkdir(join(work, 'ird'), { recursive: true });
  await makeTar(root, join(work, 'rootfs.tar'));
  await sh(`gzip -n -1 -c rootfs.tar > ird/rootfs.tar.gz`, work);
  if (opts.withModule)
    await sh('mkdir -p ird/usr/lib/modules/6.1/kernel && echo x > ird/usr/lib/modules/6.1/kernel/a.ko', work);
  const out = join(work, 'initramfs.img');
  await sh(`(cd ird && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -1) > ${out}`, work);
  return out;
}

const pkg = (name: string, entries: PackageEntry[]): PackageContents => ({
  file: `/pkgs/${name}_1_amd64.deb`,
  format: 'deb',
  name,
  entries,
});

/** sfdisk at its Debian path (/sbin, not /usr/sbin: the merge resolves it through the bootkit's link). */
async function fdiskPkg(): Promise<PackageContents> {
  return pkg('fdisk', [
    { path: 'sbin', type: 'dir', mode: 0o755 },
    { path: 'sbin/sfdisk', type: 'file', mode: 0o755, content: await readFile('/usr/sbin/sfdisk') },
  ]);
}

async function libfdiskPkg(): Promise<PackageContents> {
  const real = (await sh(`readlink -f ${libfdisk}`)).trim();
  const dirOf = dirname(libfdisk).replace(/^\//, '');
  return pkg('libfdisk1', [
    { path: `${dirOf}/${basename(real)}`, type: 'file', mode: 0o644, content: await readFile(real) },
    { path: `${dirOf}/${basename(libfdisk)}`, type: 'symlink', target: basename(real) },
  ]);
}

describe('mergePackages', () => {
  let img: string;
  beforeAll(async () => {
    img = await bootkit('no-sfdisk');
  }, 120_000);

  it('adds a missing tool and its library, says which package supplied it, resolves paths through usr-merge links', async () => {
    const scan = await scanBootkitInitramfs(img, { requirements: REQS });
    expect(scan.missing.map((m) => m.requirement.name)).toEqual(['sfdisk']);
    const m = mergePackages([await fdiskPkg(), await libfdiskPkg()], scan.root!, REQS, scan.missing);
    expect(m.supplied.map((s) => [s.requirement.name, s.pkg.name])).toEqual([['sfdisk', 'fdisk']]);
    const paths = m.files.map((f) => f.path);
    expect(paths).toContain('usr/sbin/sfdisk');
    expect(paths).not.toContain('sbin'); // an existing directory (a link here) is not re-created
    expect(paths.some((p) => p.startsWith('lib/'))).toBe(false);
    expect(m.replaced).toEqual([]);
    expect(m.index.resolve('sbin/sfdisk')).toBe('usr/sbin/sfdisk');
  });

  it('leaving the library package out fails naming the library and the binary', async () => {
    const scan = await scanBootkitInitramfs(img, { requirements: REQS });
    const unrelated = pkg('unrelated', [{ path: 'etc/x', type: 'file', mode: 0o644, content: Buffer.from('x') }]);
    expect(() => mergePackages([unrelated], scan.root!, REQS, scan.missing)).toThrow(
      /the bootkit and the given packages lack .*sfdisk \(util-linux \/ fdisk\)/,
    );
    const err2 = await fdiskPkg().then((p) => {
      try {
        mergePackages([p], scan.root!, REQS, scan.missing);
        return undefined;
      } catch (e) {
        return e;
      }
    });
    expect(err2).toBeInstanceOf(UserError);
    expect((err2 as Error).message).toMatch(/libfdisk\.so\.1 \(needed by \/usr\/sbin\/sfdisk\)/);
    expect((err2 as Error).message).not.toContain('\n');
  });

  it('checks #! interpreters and every added ELF, and reports a package file over a bootkit file', async () => {
    const scan = await scanBootkitInitramfs(img, { requirements: REQS });
    const extra = pkg('extras', [
      { path: 'usr/bin/needs-gawk', type: 'file', mode: 0o755, content: Buffer.from('#!/usr/bin/gawk -f\n') },
      { path: 'usr/bin/sh', type: 'file', mode: 0o755, content: await readFile('/bin/sh') },
      { path: 'usr/bin/lsblk', type: 'file', mode: 0o755, content: await readFile('/usr/bin/lsblk') },
    ]);
    let err: unknown;
    try {
      mergePackages([await fdiskPkg(), await libfdiskPkg(), extra], scan.root!, REQS, scan.missing);
    } catch (e) {
      err = e;
    }
    expect((err as Error).message).toMatch(/^after adding the packages, the installer's root lacks \(3\): /);
    expect((err as Error).message).toContain('interpreter /usr/bin/gawk (needed by /usr/bin/needs-gawk)');
    expect((err as Error).message).toMatch(/libmount\.so\.1 \(needed by \/usr\/bin\/lsblk\)/);
    // without the broken files it passes, and the replaced sh is reported
    const ok = pkg(
      'extras',
      extra.entries.filter((e) => e.path === 'usr/bin/sh'),
    );
    const m = mergePackages([await fdiskPkg(), await libfdiskPkg(), ok], scan.root!, REQS, scan.missing);
    expect(m.replaced).toEqual([{ path: 'usr/bin/sh', by: ok.file, over: 'the bootkit' }]);
  });

  it('a later package wins over an earlier one, and the replacement is reported', async () => {
    const scan = await scanBootkitInitramfs(img, { requirements: REQS });
    const a = pkg('a', [{ path: 'etc/demo.conf', type: 'file', mode: 0o644, content: Buffer.from('a') }]);
    const b = pkg('b', [{ path: 'etc/demo.conf', type: 'file', mode: 0o644, content: Buffer.from('b') }]);
    const m = mergePackages([await fdiskPkg(), await libfdiskPkg(), a, b], scan.root!, REQS, scan.missing);
    const f = m.files.find((x) => x.path === 'etc/demo.conf');
    expect(f && 'content' in f ? f.content.toString() : undefined).toBe('b');
    expect(m.replaced).toEqual([{ path: 'etc/demo.conf', by: b.file, over: a.file }]);
  });

  it('a missing kernel module stays a refusal: packages cannot add one', async () => {
    const reqs = parseRequirements(
      ['kind\tname\twhen\tmodules\trpm\tdeb\tused', 'module\tloop\talways\tloop\tkernel\tlinux-image-amd64\tx'].join(
        '\n',
      ),
    );
    const scan = await scanBootkitInitramfs(await bootkit('no-loop'), { requirements: reqs });
    const loopPkg = pkg('loop', [
      {
        path: 'usr/lib/modules/6.1/kernel/drivers/block/loop.ko',
        type: 'file',
        mode: 0o644,
        content: Buffer.from('x'),
      },
    ]);
    expect(() => mergePackages([loopPkg], scan.root!, reqs, scan.missing)).toThrow(
      /kernel lacks .*module loop .*kernel modules cannot be added from packages/,
    );
  });
});

describe('package files in the rootfs change', () => {
  it('go before make-iso files, and make-iso files win at the same path', () => {
    const change = rootfsChange({ installEnv: 'MI_X=1\n' }, [], [], '0.0.0', '1G', [
      { path: 'usr/sbin/lvm', mode: 0o755, content: Buffer.from('lvm') },
      { path: 'etc/make-iso/version', mode: 0o644, content: Buffer.from('package') },
    ]);
    expect(change.files[0]?.path).toBe('usr/sbin/lvm');
    const version = change.files.filter((f) => f.path === 'etc/make-iso/version');
    expect(version).toHaveLength(1);
    expect(version[0] && 'content' in version[0] ? version[0].content.toString() : '').toBe('0.0.0\n');
    expect(() => normalizeChange(change)).not.toThrow();
  });
});
