// Why: the build plan end to end from an answers file (answers -> request -> plan -> kernel args,
// grub.cfg, volume id, ISO file list, manifest) without building anything: the plan is pure.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAnswers } from '../../../src/answers/load.js';
import { answersSchema } from '../../../src/answers/schema.js';
import type { Bootkit } from '../../../src/bootkit/release.js';
import {
  composeManifest,
  planBuild,
  type BuildFacts,
  type BuildRequest,
  type DigestedFile,
} from '../../../src/build/plan.js';
import { buildRequestFor } from '../../../src/cli/build-run.js';
import { xorrisoArgs } from '../../../src/iso/plan.js';
import { MANIFEST_ISO_PATH } from '../../../src/manifest.js';
import { inputsDir, minimal } from '../answers/helpers.js';

const SHA = (c: string) => c.repeat(64);
const WORK = '/nonexistent/work';
const PATHS = { workDir: WORK, tmpIso: '/nonexistent/out/.x.iso.tmp' };
const KERNEL_MTIME = 1_650_000_000;

const bootkit: Bootkit = {
  kernel: `${WORK}/vmlinuz`,
  initramfs: `${WORK}/initramfs.img`,
  kernelName: 'vmlinuz-6.12.0-emt',
  initramfsName: 'initramfs-6.12.0-emt.img',
  kernelVersion: '6.12.0-emt',
  sourceName: 'bootkit.tar.gz',
  sourceSha256: SHA('b'),
};

const digested = (isoPath: string, hostPath: string, c: string, size = 10): DigestedFile => ({
  isoPath,
  hostPath,
  sha256: SHA(c),
  size,
});

function facts(over: Partial<BuildFacts> = {}): BuildFacts {
  return {
    version: '9.9.9',
    bootkit,
    kernel: { sha256: SHA('c'), size: 1000, mtime: KERNEL_MTIME },
    initramfsSha256: SHA('d'),
    unitsFound: ['caddy.service'],
    os: { name: 'emt.raw.gz', isoPath: 'images/emt.raw.gz', sha256: SHA('e'), size: 5000, hostPath: '/in/emt.raw.gz' },
    installerScripts: [{ path: 'usr/lib/make-iso/install.sh', mode: 0o755, content: Buffer.from('#!/bin/bash\n') }],
    staticFiles: [digested('README.txt', '/proj/iso/root/README.txt', '1')],
    userApps: [],
    ...over,
  };
}

const GENERATED = {
  [`${WORK}/initrd.img`]: { sha256: SHA('2'), size: 2000 },
  [`${WORK}/eltorito.img`]: { sha256: SHA('3'), size: 30 },
  [`${WORK}/BOOTX64.EFI`]: { sha256: SHA('4'), size: 40 },
};

/** An answers file on disk, loaded and validated like `make-iso build` does, as a BuildRequest. */
async function requestFrom(answers: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): Promise<BuildRequest> {
  const dir = inputsDir();
  const text = JSON.stringify({ ...minimal(), ...answers });
  writeFileSync(join(dir, 'answers.json'), text);
  const loaded = await parseAnswers(text, dir, { force: true });
  if (!loaded.answers) throw new Error(loaded.errors.join('; '));
  return buildRequestFor(loaded.answers, { force: true, env });
}

describe('planBuild from an answers file', () => {
  it('gives the kernel args, grub.cfg, volume id, ISO file list and manifest', async () => {
    const req = await requestFrom({ tmpfsSize: '3G', kernelArgs: ['quiet'] });
    const f = facts();
    const plan = planBuild(req, f, PATHS);

    expect(plan.volid).toMatch(/^MAKEISO_[0-9A-F]{8}$/);
    expect(plan.kernelArgs).toEqual([
      'root=tmpfs',
      'rd.skipfsck',
      'noresume',
      'modules-load=nbd',
      'rootflags=size=3G,mode=0755',
      'console=tty0',
      'console=ttyS0,115200',
      'usbcore.delay_ms=2000',
      'usbcore.autosuspend=-1',
      `makeiso.volid=${plan.volid}`,
      'quiet',
    ]);
    expect(plan.grubCfg).toContain('serial --unit=0 --speed=115200\n');
    expect(plan.grubCfg).toContain('terminal_output console serial\n');
    expect(plan.grubCfg).toContain('set timeout=5\n');
    expect(plan.grubCfg).toContain(`linux /boot/vmlinuz ${plan.kernelArgs.join(' ')}\n`);
    expect(plan.grubCfg).toContain("menuentry 'Install emt.raw.gz (unattended)'");

    // the installer config is rendered from the answers with the OS image's hash
    const env = plan.change.files.find((x) => x.path === 'etc/make-iso/install.env');
    expect(env && 'content' in env ? env.content.toString() : '').toContain(`MI_OS_IMAGE_SHA256='${SHA('e')}'`);
    expect(plan.change.mask).toContain('caddy.service');

    expect(plan.iso.files.map((x) => x.isoPath).sort()).toEqual([
      '.make-iso/manifest.json',
      'EFI/BOOT/BOOTX64.EFI',
      'README.txt',
      'boot/grub/grub.cfg',
      'boot/grub/i386-pc/eltorito.img',
      'boot/initrd.img',
      'boot/vmlinuz',
      'images/emt.raw.gz',
      'images/emt.raw.gz.sha256sum',
    ]);
    expect(plan.iso.output).toBe(PATHS.tmpIso);
    expect(xorrisoArgs(plan.iso)).toContain(plan.volid);

    const m = composeManifest(req, f, plan, GENERATED);
    expect(m.volid).toBe(plan.volid);
    expect(m.epoch).toBe(KERNEL_MTIME);
    expect(m.kernelArgs).toEqual(plan.kernelArgs);
    expect(m.osImage).toEqual({ name: 'emt.raw.gz', isoPath: 'images/emt.raw.gz', sha256: SHA('e'), size: 5000 });
    expect(m.bootkit.kernel.sha256).toBe(SHA('c'));
    expect(m.services).toEqual({ masked: plan.change.mask, found: ['caddy.service'] });
    expect(m.isoFiles.map((x) => x.path)).toEqual(
      plan.iso.files
        .map((x) => x.isoPath)
        .filter((p) => p !== MANIFEST_ISO_PATH)
        .sort(),
    );
    expect(m.isoFiles.find((x) => x.path === 'boot/initrd.img')).toEqual({
      path: 'boot/initrd.img',
      sha256: SHA('2'),
      size: 2000,
    });
    expect(m.isoFiles.find((x) => x.path === 'images/emt.raw.gz.sha256sum')?.size).toBe(
      `${SHA('e')}  emt.raw.gz\n`.length,
    );
    expect(JSON.stringify(m)).not.toContain('$6$');
  });

  it('is pure: the same request and facts give the same plan, with nothing read or written', async () => {
    const req = await requestFrom({});
    expect(planBuild(req, facts(), PATHS)).toEqual(planBuild(req, facts(), PATHS));
  });

  it('refuses to compose a manifest without a digest for every ISO file', async () => {
    const req = await requestFrom({});
    const plan = planBuild(req, facts(), PATHS);
    expect(() => composeManifest(req, facts(), plan, {})).toThrow(/no digest for .*initrd\.img/);
  });

  it('puts user apps under user-apps/ and tells the installer', async () => {
    const req = await requestFrom({ userAppsDir: 'apps' });
    const plan = planBuild(req, facts({ userApps: [digested('user-apps/a.sh', '/apps/a.sh', '5')] }), PATHS);
    expect(plan.iso.files).toContainEqual({ isoPath: 'user-apps/a.sh', hostPath: '/apps/a.sh' });
    expect(plan.config.installEnv).toContain("MI_USER_APPS_DIR='user-apps'");
  });
});

describe('console: null (screen only)', () => {
  it('has no serial console on the kernel line and no GRUB serial terminal', async () => {
    const req = await requestFrom({ console: null });
    const plan = planBuild(req, facts(), PATHS);
    expect(plan.kernelArgs.filter((a) => a.startsWith('console='))).toEqual(['console=tty0']);
    expect(plan.grubCfg).not.toMatch(/serial/);
  });

  it('keeps the serial console of an explicit port', async () => {
    const req = await requestFrom({ console: { port: 'ttyS1', speed: 9600 } });
    const plan = planBuild(req, facts(), PATHS);
    expect(plan.kernelArgs).toContain('console=ttyS1,9600');
    expect(plan.grubCfg).toContain('serial --unit=1 --speed=9600\n');
  });
});

describe('volume id', () => {
  it('changes with every input that changes the ISO', async () => {
    const req = await requestFrom({ userAppsDir: 'apps' });
    const volid = (r: BuildRequest, f: BuildFacts) => planBuild(r, f, PATHS).volid;
    const base = volid(req, facts());
    const app = (c: string) => [digested('user-apps/a.sh', '/apps/a.sh', c)];
    const variants = [
      volid(req, facts({ userApps: app('5') })),
      volid(req, facts({ userApps: app('6') })),
      volid({ ...req, bootTimeout: 1 }, facts()),
      volid(req, facts({ staticFiles: [digested('README.txt', '/proj/iso/root/README.txt', '7')] })),
      volid(req, facts({ os: { ...facts().os, sha256: SHA('f') } })),
      volid(req, facts({ kernel: { ...facts().kernel, mtime: KERNEL_MTIME + 1 } })),
      volid({ ...req, console: null }, facts()),
      volid(req, facts({ installerScripts: [] })),
    ];
    expect(new Set([base, ...variants]).size).toBe(variants.length + 1);
    expect(volid(req, facts())).toBe(base);
  });
});

describe('source date epoch', () => {
  it('defaults to the kernel modification time; the answers or $SOURCE_DATE_EPOCH win', async () => {
    expect(planBuild(await requestFrom({}), facts(), PATHS).epoch).toBe(KERNEL_MTIME);
    expect(planBuild(await requestFrom({}, { SOURCE_DATE_EPOCH: '1700000000' }), facts(), PATHS).epoch).toBe(
      1_700_000_000,
    );
    const fromAnswers = await requestFrom({ output: { sourceDateEpoch: 1_600_000_000 } }, { SOURCE_DATE_EPOCH: '1' });
    expect(planBuild(fromAnswers, facts(), PATHS).epoch).toBe(1_600_000_000);
  });

  it('is documented as the code does it', () => {
    const description = answersSchema.shape.output.unwrap().shape.sourceDateEpoch.description ?? '';
    expect(description).toContain("else the kernel's modification time");
    expect(description).not.toContain('now');
  });
});
