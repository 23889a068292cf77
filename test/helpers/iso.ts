// Why: one way for e2e tests to build a real installer ISO from the Debian fixtures through
// the same path the CLI uses (answers -> validation -> rendered config -> generator).
import { writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parseAnswers } from '../../src/answers/load.js';
import { buildIso, type BuildResult } from '../../src/build.js';
import { buildRequestFor } from '../../src/cli/build-run.js';
import { ValidationError } from '../../src/errors.js';
import type { ProgressEvent } from '../../src/progress.js';
import { sha256File } from '../../src/io/hash.js';
import { ISO_PATHS } from '../../src/iso/assemble.js';
import { renderInstallerConfig } from '../../src/render/installer-config.js';
import { version } from '../../src/version.js';
import type { TestContext } from 'vitest';
import type { BootkitBuild, BuildName, Fixtures } from './fixtures.js';
import { startVm, type TargetDisk, type Vm } from './qemu.js';

/** `openssl passwd -6 -salt makeisotest secret`: the test user's password hash. */
export const TEST_PASSWORD_HASH =
  '$6$makeisotest$kiJCx5NiNXdhh8Ro.bfL8/MUHbUh360zzLK3SbKv4Em3xWOvN3.7CM8P9BN8Ah0yH1Wo9vRKy4X6IPtQhSm2N0';
export const TEST_SSH_KEY =
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAEIDxYdJCsyOUBHTlVcY2pxeH+GjZSboqmwt77FzNPa make-iso-test';

export interface FixtureIsoOptions {
  dir: string;
  build?: BuildName;
  /** Extra answers, merged over the defaults below (top-level keys replace). */
  answers?: Record<string, unknown>;
  name?: string;
  /** OS image to install instead of the fixtures' GRUB stub (e.g. the EMT OS image fixture). */
  osImage?: string;
  /**
   * Build as a make-iso without the build-time OS image probe would (the installer config
   * rendered from the answers, no MI_IMAGE_* facts): to reach the installer's own checks with
   * an image the build refuses.
   */
  unprobed?: boolean;
}

export async function buildFixtureIso(
  fx: Pick<Fixtures, 'osImage'> & { builds: Partial<Record<BuildName, BootkitBuild>> },
  opts: FixtureIsoOptions,
): Promise<BuildResult & { events: ProgressEvent[] }> {
  const build = fx.builds[opts.build ?? 'full-gzip'];
  if (!build) throw new Error(`this fixture has no ${opts.build ?? 'full-gzip'} build`);
  const answers = {
    bootkit: { archive: build.tarball },
    osImage: { path: opts.osImage ?? fx.osImage },
    output: { path: join(opts.dir, opts.name ?? 'installer.iso'), sourceDateEpoch: 1_700_000_000 },
    user: { name: 'edge', passwordHash: TEST_PASSWORD_HASH, sshKeys: [TEST_SSH_KEY] },
    ...opts.answers,
  };
  const file = join(opts.dir, `${opts.name ?? 'installer'}.answers.json`);
  await writeFile(file, JSON.stringify(answers, null, 2));
  const loaded = await parseAnswers(JSON.stringify(answers), opts.dir, { force: true });
  if (!loaded.answers) throw new ValidationError(loaded.errors, file);
  const events: ProgressEvent[] = [];
  const progress = (e: ProgressEvent) => events.push(e);
  let req = await buildRequestFor(loaded.answers, { force: true, progress });
  if (opts.unprobed) {
    const config = renderInstallerConfig(loaded.answers, {
      osImageName: `${ISO_PATHS.images}/${basename(req.osImage)}`,
      osImageSha256: await sha256File(req.osImage),
      version,
    });
    req = { ...req, installer: { config } };
  }
  const result = await buildIso(req, progress);
  return { ...result, events };
}

/** The installer's last console line: SUCCESS or FAILED. */
export const INSTALL_RESULT = /MAKE-ISO-INSTALLER: (SUCCESS|FAILED): .*/;
// Field notes: ~60 s from power-on to multi-user.target under TCG; x3 for a busy machine.
export const BOOT_BUDGET_MS = 4 * 60_000;
export const INSTALL_BUDGET_MS = 6 * 60_000;
export const VM_HARD_LIMIT_MS = 14 * 60_000;

/**
 * Starts a VM that is stopped when the test CTX ends, whatever its outcome (a shared
 * afterEach(stopAllVms) would stop the VM of a case running beside it in a concurrent suite).
 */
export async function startTestVm(ctx: TestContext, opts: Parameters<typeof startVm>[0]): Promise<Vm> {
  const vm = await startVm(opts);
  ctx.onTestFinished(() => vm.stop());
  return vm;
}

/**
 * Boots an installer ISO from the CD (BIOS) with these disks, logs the serial console to
 * DIR/NAME.serial.log, and waits for the SUCCESS or FAILED line (its message carries the log's tail).
 */
export async function installFromCd(
  ctx: TestContext,
  opts: { name: string; iso: string; dir: string; disks: TargetDisk[]; extraArgs?: string[] },
): Promise<{ vm: Vm; line: string }> {
  const vm = await startTestVm(ctx, {
    name: opts.name,
    firmware: 'bios',
    media: { kind: 'cdrom', iso: opts.iso },
    disks: opts.disks,
    serialLog: join(opts.dir, `${opts.name.replace(/\W+/g, '-')}.serial.log`),
    timeoutMs: VM_HARD_LIMIT_MS,
    extraArgs: opts.extraArgs ?? [],
  });
  const done = await vm.waitFor(INSTALL_RESULT, BOOT_BUDGET_MS + INSTALL_BUDGET_MS);
  return { vm, line: done.line };
}
