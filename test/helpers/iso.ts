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
import type { BootkitBuild, BuildName, Fixtures } from './fixtures.js';

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
