// Why: the overlay archive is unpacked over the vendor's; an entry whose path the vendor has
// with another type replaces it (a dir over dracut-ng's hooks symlink cut dracut off from the
// vendor's mount hook). These tests pin where the hook goes for each dracut layout and that the
// overlay never emits a path the vendor archive already has.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { readFile, writeFile } from 'node:fs/promises';
import {
  chooseInitramfsMode,
  detectDracutLayout,
  type InitramfsNode,
  readDracutLayout,
  resolveInTree,
} from '../../../src/initramfs/layout.js';
import { writeCustomInitramfs, type RootfsChange } from '../../../src/initramfs/produce.js';
import { walkInitramfs } from '../../../src/initramfs/container.js';
import { scanBootkitInitramfs } from '../../../src/initramfs/scan.js';
import {
  buildInitramfsIn,
  cpioList,
  DRACUT_TEST_LAYOUTS,
  type DracutTestLayout,
  tempDir,
} from '../../helpers/initramfs-fixtures.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir()));
afterAll(() => cleanup());

const change: RootfsChange = {
  files: [{ path: '/usr/lib/make-iso/installer.sh', mode: 0o755, content: Buffer.from('#!/bin/sh\n') }],
  mask: ['tink-worker'],
};

/** A tree from "path: type" (or "path: ->target"), with the parent directories a real archive has. */
const tree = (entries: Record<string, string>): Map<string, InitramfsNode> => {
  const t = new Map<string, InitramfsNode>();
  for (const [k, v] of Object.entries(entries)) {
    const parts = k.split('/');
    for (let i = 1; i < parts.length; i++) {
      const p = parts.slice(0, i).join('/');
      if (!t.has(p) && !(p in entries)) t.set(p, { type: 'dir' });
    }
    t.set(k, v.startsWith('->') ? { type: 'symlink', target: v.slice(2) } : { type: v as InitramfsNode['type'] });
  }
  return t;
};

const USR_MERGED = { usr: 'dir', 'usr/lib': 'dir', lib: '->usr/lib' };

describe('detectDracutLayout', () => {
  it('classic dracut: hooks under usr/lib through the lib link, nothing to create', () => {
    const t = tree({
      ...USR_MERGED,
      'usr/lib/dracut': 'dir',
      'usr/lib/dracut/hooks': 'dir',
      'usr/lib/dracut/hooks/pre-pivot': 'dir',
    });
    expect(detectDracutLayout(t)).toMatchObject({
      recognised: true,
      kind: 'dracut-classic',
      hookPath: 'usr/lib/dracut/hooks/pre-pivot/99-make-iso.sh',
      missingDirs: [],
    });
  });

  it('dracut-ng with the compat symlink: the hook goes to the real var/lib path', () => {
    const t = tree({
      ...USR_MERGED,
      'usr/lib/dracut': 'dir',
      'usr/lib/dracut/hooks': '->../../../var/lib/dracut/hooks',
      var: 'dir',
      'var/lib': 'dir',
      'var/lib/dracut': 'dir',
      'var/lib/dracut/hooks': 'dir',
    });
    const l = detectDracutLayout(t);
    expect(l).toMatchObject({
      recognised: true,
      kind: 'dracut-ng',
      hooksDir: 'var/lib/dracut/hooks',
      hookPath: 'var/lib/dracut/hooks/pre-pivot/99-make-iso.sh',
      missingDirs: ['var/lib/dracut/hooks/pre-pivot'],
    });
    expect(l.recognised && l.description).toContain('/usr/lib/dracut/hooks link');
  });

  it('Debian trixie (dracut 106): hookdir=/lib/dracut/hooks, which links to var/lib', () => {
    const t = tree({
      ...USR_MERGED,
      'usr/lib/dracut/hooks': '->../../../var/lib/dracut/hooks',
      'var/lib/dracut/hooks/pre-pivot': 'dir',
      'var/lib/dracut/hooks/mount/10-mount-tmpfsroot.sh': 'file',
    });
    expect(detectDracutLayout(t, 'hookdir=/lib/dracut/hooks\nexport hookdir\n')).toMatchObject({
      recognised: true,
      kind: 'dracut-ng',
      hookPath: 'var/lib/dracut/hooks/pre-pivot/99-make-iso.sh',
      missingDirs: [],
    });
  });

  it('dracut-lib.sh decides when both hook directories exist', () => {
    const t = tree({
      ...USR_MERGED,
      'usr/lib/dracut/hooks': 'dir',
      'usr/lib/dracut/hooks/pre-pivot': 'dir',
      'var/lib/dracut/hooks': 'dir',
      'var/lib/dracut/hooks/pre-pivot': 'dir',
    });
    expect(detectDracutLayout(t, 'export hookdir=/lib/dracut/hooks\n')).toMatchObject({ kind: 'dracut-classic' });
    expect(detectDracutLayout(t, '[ -z "$hookdir" ] && hookdir=/var/lib/dracut/hooks\n')).toMatchObject({
      kind: 'dracut-ng',
    });
    expect(detectDracutLayout(t)).toMatchObject({ kind: 'dracut-ng' });
  });

  const NG = 'hookdir=/var/lib/dracut/hooks';
  it.each([
    ['no hooks directory', tree(USR_MERGED), undefined, /no dracut hooks directory/],
    [
      'hooks dir is a file',
      tree({ ...USR_MERGED, 'var/lib/dracut/hooks': 'file' }),
      NG,
      /reads hooks from \/var\/lib\/dracut\/hooks, which is a file/,
    ],
    [
      'pre-pivot is a file',
      tree({ ...USR_MERGED, 'usr/lib/dracut/hooks': 'dir', 'usr/lib/dracut/hooks/pre-pivot': 'file' }),
      undefined,
      /pre-pivot is not a directory/,
    ],
    [
      'symlink loop',
      tree({ ...USR_MERGED, 'var/lib/dracut/hooks': '->hooks2', 'var/lib/dracut/hooks2': '->hooks' }),
      NG,
      /symlink loop/,
    ],
    [
      'hook already there',
      tree({
        ...USR_MERGED,
        'usr/lib/dracut/hooks': 'dir',
        'usr/lib/dracut/hooks/pre-pivot': 'dir',
        'usr/lib/dracut/hooks/pre-pivot/99-make-iso.sh': 'file',
      }),
      undefined,
      /already has/,
    ],
  ])('refuses with the reason: %s', (_name, t, lib, why) => {
    const l = detectDracutLayout(t, lib);
    expect(l.recognised ? 'recognised' : l.reason).toMatch(why);
  });

  it('resolves relative and absolute links', () => {
    const t = tree({ ...USR_MERGED, a: '->/usr/lib', 'usr/lib/x': 'dir' });
    expect(resolveInTree(t, 'a/x/y')).toEqual({ path: 'usr/lib/x/y' });
    expect(resolveInTree(t, 'lib/x')).toEqual({ path: 'usr/lib/x', node: { type: 'dir' } });
  });
});

describe('chooseInitramfsMode', () => {
  const ok = detectDracutLayout(tree({ 'lib/dracut/hooks': 'dir' }));
  const bad = detectDracutLayout(tree({}));
  it('auto: overlay when recognised, rewrite with the reason otherwise', () => {
    expect(chooseInitramfsMode('auto', { layout: ok })).toMatchObject({ mode: 'overlay' });
    expect(chooseInitramfsMode(undefined, { layout: bad })).toEqual({
      mode: 'rewrite',
      reason: expect.stringMatching(/no dracut hooks directory/) as unknown as string,
    });
    expect(chooseInitramfsMode('auto', { layout: ok, lastCompression: 'lz4' })).toMatchObject({ mode: 'rewrite' });
  });
  it('overlay is refused when it cannot work; rewrite is always taken', () => {
    expect(() => chooseInitramfsMode('overlay', { layout: bad })).toThrow(
      /mode: overlay cannot be used.*no dracut hooks/,
    );
    expect(chooseInitramfsMode('rewrite', { layout: bad })).toEqual({ mode: 'rewrite' });
  });
});

/** The vendor archive's entry names, and the overlay archive's, of an overlay-mode output. */
const overlays = new Map<DracutTestLayout, Promise<{ vendor: string[]; overlay: string[] }>>();
function overlayOf(layout: DracutTestLayout): Promise<{ vendor: string[]; overlay: string[] }> {
  if (!overlays.has(layout)) overlays.set(layout, makeOverlay(layout));
  return overlays.get(layout)!;
}
async function makeOverlay(layout: DracutTestLayout): Promise<{ vendor: string[]; overlay: string[] }> {
  const img = await buildInitramfsIn(dir, layout, { compression: 'gzip', dracut: layout });
  const out = join(dir, layout, 'out.img');
  await writeCustomInitramfs(img, out, change, {
    mode: 'overlay',
    mtime: 1700000000,
    scan: await scanBootkitInitramfs(img),
  });
  const chain = await walkInitramfs(out);
  expect(chain.archives).toHaveLength(2);
  const whole = await readFile(out);
  const parts = chain.archives.map((a, i) => {
    const p = join(dir, layout, `part${i}.gz`);
    return writeFile(p, whole.subarray(a.offset, a.offset + a.length)).then(() => cpioList(p));
  });
  const [vendor, overlay] = await Promise.all(parts);
  return { vendor: vendor!.map((n) => n.replace(/^\.\//, '')), overlay: overlay! };
}

describe('overlay archive on each dracut layout', () => {
  const expected: Record<Exclude<DracutTestLayout, 'none'>, string> = {
    classic: 'usr/lib/dracut/hooks/pre-pivot/99-make-iso.sh',
    'dracut-ng': 'var/lib/dracut/hooks/pre-pivot/99-make-iso.sh',
    'dracut-ng-symlink': 'var/lib/dracut/hooks/pre-pivot/99-make-iso.sh',
  };
  it.each(Object.entries(expected))('%s: hook at %s, no entry the vendor archive has', async (layout, hookPath) => {
    const { vendor, overlay } = await overlayOf(layout as DracutTestLayout);
    expect(overlay).toContain(hookPath);
    expect(overlay.filter((n) => vendor.includes(n))).toEqual([]);
    // Only the hook itself is outside the staging tree: every parent already exists.
    expect(overlay.filter((n) => !n.startsWith('make-iso-overlay'))).toEqual([hookPath]);
  });

  it('dracut-ng-symlink: the vendor symlink is not shadowed (the case that broke)', async () => {
    const { vendor, overlay } = await overlayOf('dracut-ng-symlink');
    expect(vendor).toContain('usr/lib/dracut/hooks');
    expect(overlay).not.toContain('usr/lib/dracut/hooks');
    expect(overlay.some((n) => n.startsWith('usr/lib/dracut'))).toBe(false);
  });

  it('no hooks directory: overlay refused with the reason, auto chooses rewrite', async () => {
    const img = await buildInitramfsIn(dir, 'none', { compression: 'gzip', dracut: 'none' });
    const layout = await readDracutLayout(img);
    expect(layout).toMatchObject({
      recognised: false,
      reason: expect.stringMatching(/no dracut hooks directory/) as unknown,
    });
    await expect(
      writeCustomInitramfs(img, join(dir, 'none', 'out.img'), change, { mode: 'overlay', mtime: 1700000000 }),
    ).rejects.toThrow(/cannot hook into .*no dracut hooks directory.*mode: rewrite/);
    expect(chooseInitramfsMode('auto', { layout }).mode).toBe('rewrite');
  });

  it('lists every layout the helpers can build', () => {
    expect([...Object.keys(expected), 'none'].sort()).toEqual([...DRACUT_TEST_LAYOUTS].sort());
  });
});
