// Why: both modes must produce an initramfs the kernel can unpack, with the changes applied
// (overlay: by the dracut hook, run here against a real extracted root), deterministically.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { join } from 'node:path';
import { readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { writeCustomInitramfs, type RootfsChange } from '../../../src/initramfs/produce.js';
import { walkInitramfs, type InitramfsLayout } from '../../../src/initramfs/container.js';
import { OVERLAY_HOOK_SOURCE } from '../../../src/initramfs/overlay.js';
import { hasTool } from '../../../src/exec.js';
import { encoder } from '../../../src/initramfs/compression.js';
import { InterruptedError } from '../../../src/errors.js';
import {
  buildInitramfsIn,
  cpioList,
  makeInitramfs,
  sh,
  sha256,
  tempDir,
  type Comp,
} from '../../helpers/initramfs-fixtures.js';
import { scanBootkitInitramfs } from '../../../src/initramfs/scan.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir()));
afterAll(() => cleanup());

const MTIME = 1700000000;
const change: RootfsChange = {
  files: [
    { path: '/usr/lib/make-iso/installer.sh', mode: 0o755, content: Buffer.from('#!/bin/bash\necho install\n') },
    { path: '/etc/make-iso/install.env', mode: 0o600, content: Buffer.from("MI_USER_NAME='me'\n") },
    { path: '/var/lib/make-iso', dir: true, mode: 0o700 },
    { path: '/etc/systemd/system/make-iso-installer.service', mode: 0o644, content: Buffer.from('[Unit]\n') },
    {
      path: '/etc/systemd/system/multi-user.target.wants/make-iso-installer.service',
      symlink: '../make-iso-installer.service',
    },
  ],
  mask: ['tink-worker', 'caddy', 'device-discovery'],
};

const build = (name: string, opts: Parameters<typeof makeInitramfs>[2]): Promise<string> =>
  buildInitramfsIn(dir, name, opts);

const dec = (c: Comp): string => ({ gzip: 'gzip -dc', zstd: 'zstd -dc', xz: 'xz -dc', none: 'cat', lz4: 'lz4 -dc' })[c];

/** Extracts every archive of the chain in order into one directory, like the kernel. */
async function unpackChain(img: string, layout: InitramfsLayout, into: string): Promise<void> {
  const whole = await readFile(img);
  await sh(`mkdir -p ${into}`);
  for (const a of layout.archives) {
    const part = `${into}.part`;
    await writeFile(part, whole.subarray(a.offset, a.offset + a.length));
    await sh(`${dec(a.compression)} < ${part} | (cd ${into} && cpio -idmu --quiet)`);
  }
}

/** Checks a root tree has the change applied. */
async function expectChanged(root: string): Promise<void> {
  expect(await readFile(join(root, 'usr/lib/make-iso/installer.sh'), 'utf8')).toBe('#!/bin/bash\necho install\n');
  expect(await sh(`stat -c %a usr/lib/make-iso/installer.sh etc/make-iso/install.env var/lib/make-iso`, root)).toBe(
    '755\n600\n700',
  );
  for (const u of ['tink-worker', 'caddy', 'device-discovery']) {
    expect(await readlink(join(root, `etc/systemd/system/${u}.service`))).toBe('/dev/null');
  }
  expect(await sh(`ls etc/systemd/system/multi-user.target.wants`, root)).toBe(
    'fluent-bit.service\nmake-iso-installer.service\nsshd.service',
  );
  expect(await readlink(join(root, 'lib'))).toBe('usr/lib');
  expect(await readFile(join(root, 'usr/lib/os-release'), 'utf8')).toBe('ID=emt\n');
}

describe('writeCustomInitramfs overlay', () => {
  it('appends one archive; its hook applies the change to an unpacked root (dash and bash)', async () => {
    const img = await build('ov', { compression: 'gzip', microcode: true });
    const out = join(dir, 'ov', 'out.img');
    const r = await writeCustomInitramfs(img, out, change, { mode: 'overlay', mtime: MTIME });
    expect(r).toMatchObject({
      mode: 'overlay',
      masked: ['caddy.service', 'device-discovery.service', 'tink-worker.service'],
    });
    const input = await readFile(img);
    const output = await readFile(out);
    expect(output.subarray(0, input.length).equals(input)).toBe(true);
    expect(r.bytes).toBe(output.length);
    expect(r.bytes - input.length).toBeLessThan(4096);
    const layout = await walkInitramfs(out);
    expect(layout.archives.map((a) => a.compression)).toEqual(['none', 'gzip', 'gzip']);
    expect(layout.archives[2]!.offset % 4).toBe(0);

    // unpack like the kernel does; the vendor's lib -> usr/lib link survives the overlay
    const initrd = join(dir, 'ov', 'unpacked');
    await unpackChain(out, layout, initrd);
    expect(await readlink(join(initrd, 'lib'))).toBe('usr/lib');
    const hook = join(initrd, 'usr/lib/dracut/hooks/pre-pivot/99-make-iso.sh');
    expect(await readFile(hook, 'utf8')).toBe(await readFile(OVERLAY_HOOK_SOURCE, 'utf8'));
    expect(await readFile(join(initrd, 'make-iso-overlay/mask'), 'utf8')).toBe(
      'caddy.service\ndevice-discovery.service\ntink-worker.service\n',
    );

    // what 90tmpfsroot does, then the hook, sourced by /bin/sh as dracut does
    for (const shell of ['dash', 'bash']) {
      const root = join(dir, 'ov', `newroot-${shell}`);
      const log = join(dir, 'ov', `kmsg-${shell}`);
      await sh(`mkdir -p ${root} && tar -xzf ${initrd}/rootfs.tar.gz -C ${root} && : > ${log}`);
      await sh(
        `NEWROOT=${root} MAKE_ISO_OVERLAY=${initrd}/make-iso-overlay MAKE_ISO_KMSG=${log} ${shell} -c '. "$1"; echo "rc=$?"' sh ${hook}`,
      ).then((o) => expect(o).toBe('rc=0'));
      await expectChanged(root);
      const lines = (await readFile(log, 'utf8')).trim().split('\n');
      expect(lines).toContain('make-iso: masked tink-worker.service');
      expect(lines).toContain(
        'make-iso: disabled caddy.service (removed /etc/systemd/system/multi-user.target.wants/caddy.service)',
      );
      expect(lines.filter((l) => l.includes('ERROR'))).toEqual([]);
    }
  });

  it.each([true, false])(
    'puts the hook where dracut looks, emitting only missing dirs (usr-merged: %s)',
    async (merged) => {
      const img = await build(`ov-place-${merged}`, { compression: 'gzip', usrMerged: merged });
      const scan = await scanBootkitInitramfs(img);
      const hookPath = `${merged ? 'usr/lib' : 'lib'}/dracut/hooks/pre-pivot/99-make-iso.sh`;
      expect(scan.hook).toEqual({ path: hookPath, missingDirs: [] });
      const out = join(dir, `ov-place-${merged}`, 'out.img');
      await writeCustomInitramfs(img, out, change, { mode: 'overlay', mtime: MTIME, scan });
      const layout = await walkInitramfs(out);
      const last = layout.archives.at(-1)!;
      const part = join(dir, `ov-place-${merged}`, 'overlay.gz');
      await writeFile(part, (await readFile(out)).subarray(last.offset));
      const names = await cpioList(part);
      expect(names).toContain(hookPath);
      expect(names.filter((n) => !n.startsWith('make-iso-overlay'))).toEqual([hookPath]);
    },
  );

  it('is deterministic and refuses to append after an lz4 archive', async () => {
    const img = await build('ov2', { compression: 'gzip' });
    const a = join(dir, 'ov2', 'a.img');
    const b = join(dir, 'ov2', 'b.img');
    await writeCustomInitramfs(img, a, change, { mode: 'overlay', mtime: MTIME });
    await writeCustomInitramfs(img, b, change, { mode: 'overlay', mtime: MTIME });
    expect(await sha256(a)).toBe(await sha256(b));
    const layout = { archives: [{ index: 0, offset: 0, length: 10, compression: 'lz4' as const, entries: 1 }] };
    await expect(writeCustomInitramfs(img, a, change, { mode: 'overlay', mtime: MTIME, scan: layout })).rejects.toThrow(
      /use the rewrite mode/,
    );
  });

  // shellcheck is a required host tool (data/host-tools.tsv): missing, this fails rather than passes unrun.
  it('ships a shellcheck-clean POSIX sh hook', async () => {
    await sh(`shellcheck -s sh ${OVERLAY_HOOK_SOURCE}`);
  });
});

describe('writeCustomInitramfs rewrite', () => {
  it.each(['gzip', 'zstd', 'xz', 'none'] as Comp[])(
    'rewrites rootfs.tar.gz inside a microcode-prefixed %s initramfs, other archives byte for byte',
    async (c) => {
      const img = await build(`rw-${c}`, { compression: c, microcode: true });
      const out = join(dir, `rw-${c}`, 'out.img');
      const r = await writeCustomInitramfs(img, out, change, { mode: 'rewrite', mtime: MTIME, level: 1, gzip: 'node' });
      expect(r.rootfs!.removedLinks.sort()).toEqual([
        './etc/systemd/system/multi-user.target.wants/caddy.service',
        './etc/systemd/system/multi-user.target.wants/tink-worker.service',
      ]);
      const inLayout = await walkInitramfs(img);
      const outLayout = await walkInitramfs(out);
      expect(outLayout.archives.map((a) => [a.compression, a.entries])).toEqual(
        inLayout.archives.map((a) => [a.compression, a.entries]),
      );
      const input = await readFile(img);
      const output = await readFile(out);
      const mc = inLayout.archives[0]!;
      expect(output.subarray(0, mc.length).equals(input.subarray(0, mc.length))).toBe(true);
      // the kernel's view: unpack the chain, then what 90tmpfsroot does
      const initrd = join(dir, `rw-${c}`, 'unpacked');
      await unpackChain(out, outLayout, initrd);
      expect(await readFile(join(initrd, 'etc/cmdline.d/95root-dev.conf'), 'utf8')).toContain('root=tmpfs');
      const root = join(dir, `rw-${c}`, 'newroot');
      await sh(`mkdir -p ${root} && tar -xzf ${initrd}/rootfs.tar.gz -C ${root}`);
      await expectChanged(root);
    },
  );

  // An abort must settle the write wherever it lands. It used to hang when it came after a
  // compressor's input had ended but before its output was read: the aborted pipeline left
  // the tool's stdout paused and execa waited for it forever. Each case has its own bound.
  const settles = <T>(p: Promise<T>, ms = 20_000): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`did not settle within ${ms} ms`)), ms);
    });
    return Promise.race([p, bound]).finally(() => clearTimeout(timer));
  };
  type AbortAt = 'before start' | 'rootfs start' | 'rootfs end' | `${number} ms`;
  const abortPoints: AbortAt[] = ['before start', 'rootfs start', 'rootfs end', '0 ms', '5 ms', '20 ms', '40 ms'];

  it.each(['xz', 'zstd', 'gzip'] as Comp[])(
    'stops on abort wherever it lands and leaves no temp files behind (%s)',
    async (c) => {
      const work = join(dir, `rw-abort-${c}`);
      const img = await build(`rw-abort-${c}`, { compression: c });
      for (const at of abortPoints) {
        const out = join(work, 'out.img');
        const ac = new AbortController();
        if (at === 'before start') ac.abort();
        const timer = at.endsWith(' ms') ? setTimeout(() => ac.abort(), parseInt(at, 10)) : undefined;
        const progress = (e: { step: string; kind: string }): void => {
          if (e.step === 'rewrite-rootfs' && `rootfs ${e.kind}` === at) ac.abort();
        };
        const run = writeCustomInitramfs(img, out, change, {
          mode: 'rewrite',
          mtime: MTIME,
          signal: ac.signal,
          progress,
        });
        const r = await settles(
          run.then(
            () => 'done',
            (err: unknown) => err,
          ),
        ).catch((err: Error) => {
          throw new Error(`${c}, abort at ${at}: ${err.message}`);
        });
        clearTimeout(timer);
        // only a timed abort may come too late, after the write has finished
        if (r !== 'done' || !timer) expect(r, `${c}, abort at ${at}`).toBeInstanceOf(InterruptedError);
        const left = (await readdir(work)).filter((f) => f.startsWith('out.img.'));
        expect(left, `${c}, abort at ${at}`).toEqual([]);
        await rm(out, { force: true });
      }
    },
  );

  it.for([
    ['gzip', 'pigz'],
    ['xz', 'xz'],
    ['zstd', 'zstd'],
  ] as const)('a %s stage destroyed after its input ended lets its tool go', async ([c, tool], { skip }) => {
    // pigz is optional (data/host-tools.tsv): say so visibly instead of passing without running
    if (!(await hasTool(tool))) skip(`${tool} is not installed (see make-iso doctor)`);
    const ac = new AbortController();
    const enc = await encoder(c, { gzip: 'pigz', signal: ac.signal });
    // all input written and stdin ended, output waiting unread: where an abort used to hang
    const pending = once(enc.stream, 'readable');
    await new Promise<void>((resolve, reject) =>
      enc.stream.end(Buffer.alloc(1 << 20, 1), (err?: Error | null) => (err ? reject(err) : resolve())),
    );
    await pending;
    enc.stream.on('error', () => {});
    const closed = new Promise((resolve) => enc.stream.once('close', resolve));
    ac.abort(); // what an aborted pipeline does: the cancel signal, then destroy() on each stage
    enc.stream.destroy(new Error('aborted'));
    await closed;
    expect(enc.tool!.stdout.destroyed).toBe(true);
    await settles(
      enc.tool!.done.catch(() => {}),
      10_000,
    );
  });

  it('with an empty change, leaves the rootfs tar byte-identical; two runs give the same bytes', async () => {
    const img = await build('rw-same', { compression: 'gzip' });
    const work = join(dir, 'rw-same');
    const a = join(work, 'a.img');
    const b = join(work, 'b.img');
    const empty = { files: [], mask: [] };
    await writeCustomInitramfs(img, a, empty, { mode: 'rewrite', mtime: MTIME });
    await writeCustomInitramfs(img, b, empty, { mode: 'rewrite', mtime: MTIME });
    expect(await sha256(a)).toBe(await sha256(b));
    await sh(`mkdir x && cd x && gzip -dc < ${a} | cpio -idm --quiet && gzip -dc rootfs.tar.gz > ../out.tar`, work);
    expect(await sha256(join(work, 'out.tar'))).toBe(await sha256(join(work, 'rootfs.tar')));
    // and the cpio stream around it is unchanged too
    expect(await sh(`gzip -dc < ${a} | cpio -t --quiet | sha256sum`)).toBe(
      await sh(`gzip -dc < ${img} | cpio -t --quiet | sha256sum`),
    );
  });
});
