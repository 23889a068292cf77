// Why: the generator pipeline: bootkit release + OS image + answers in, one reproducible hybrid
// installer ISO out. Reads the inputs, plans (pure, src/build/plan.ts), executes, publishes.
import { chmod, stat, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { InterruptedError, inContext } from './errors.js';
import { openBuildCache, type BuildCache } from './build/cache.js';
import { readInputs } from './build/inputs.js';
import { composeManifest, planBuild, type BuildPlan, type GeneratedDigests } from './build/plan.js';
import { publish, refuseExisting, tempPathBeside } from './build/publish.js';
import type { BootkitInitramfsScan } from './initramfs/scan.js';
import { writeCustomInitramfs } from './initramfs/produce.js';
import { sha256File } from './io/hash.js';
import { makeTempDir, registerTemp, removeTemp } from './io/temps.js';
import { assembleIso, writeBootFiles } from './iso/assemble.js';
import type { Manifest } from './manifest.js';
import type { ProgressSink } from './progress.js';

export type { BuildRequest, InstallerConfig, OsImageInfo } from './build/plan.js';
import type { BuildRequest } from './build/plan.js';

export interface BuildResult {
  output: string;
  volid: string;
  /** The ISO's sha256, when asked for (BuildOptions.hashIso): it costs reading the ISO again. */
  sha256?: string;
  size: number;
  manifest: Manifest;
  seconds: number;
}

/** Writes the custom initramfs, the boot files and the OS image checksum the plan names. */
async function generateFiles(
  plan: BuildPlan,
  kernelInitramfs: string,
  scan: BootkitInitramfsScan,
  progress: ProgressSink,
  signal?: AbortSignal,
): Promise<GeneratedDigests> {
  progress({
    step: 'initramfs',
    kind: 'start',
    message: `customising the initramfs (${plan.mode} mode${plan.modeReason ? `: ${plan.modeReason}` : ''})`,
  });
  // The initramfs (a copy and an append, I/O) and the boot files (GRUB and mtools processes, CPU)
  // are independent: on two cores they overlap.
  // Both are awaited to the end (no tool left running), and an initramfs failure is reported
  // first, as when they ran one after the other.
  const [initramfs, ...others] = await Promise.allSettled([
    inContext('customising the initramfs', () =>
      writeCustomInitramfs(kernelInitramfs, plan.initramfs, plan.change, {
        mode: plan.mode,
        mtime: plan.epoch,
        scan,
        progress,
        signal,
      }),
    ),
    writeBootFiles(plan.boot, plan.grubCfg, plan.volid, plan.epoch),
    writeFile(plan.sums.path, plan.sums.content),
  ]);
  for (const r of [initramfs, ...others]) if (r.status === 'rejected') throw r.reason;
  const result = (initramfs as PromiseFulfilledResult<Awaited<ReturnType<typeof writeCustomInitramfs>>>).value;
  progress({ step: 'initramfs', kind: 'end', message: `initramfs ready (${(result.bytes / 2 ** 20).toFixed(1)} MiB)` });
  if (signal?.aborted) throw new InterruptedError('interrupted; nothing was written');
  const generated: GeneratedDigests = {};
  await Promise.all(
    [plan.initramfs, plan.boot.biosEltorito, plan.boot.efiLoader].map(async (path) => {
      generated[path] = { sha256: await sha256File(path), size: (await stat(path)).size };
    }),
  );
  return generated;
}

/** How a build runs (not what it builds): the cache to use, and whether to hash the ISO. */
export interface BuildOptions {
  /** Default: the cache of this environment (openBuildCache); null: none. */
  cache?: BuildCache | null;
  hashIso?: boolean;
}

export async function buildIso(
  req: BuildRequest,
  progress: ProgressSink,
  signal?: AbortSignal,
  opts: BuildOptions = {},
): Promise<BuildResult> {
  const started = Date.now();
  const output = resolve(req.output);
  await refuseExisting(output, req.force);
  const checkAbort = () => {
    if (signal?.aborted) throw new InterruptedError('interrupted; nothing was written');
  };
  // The ISO holds the password hash and proxy credentials: every file made here is private (0600).
  const umask = process.umask(0o077);
  const workDir = await makeTempDir('make-iso');
  const tmpIso = tempPathBeside(output);
  registerTemp(tmpIso);
  try {
    const cache = opts.cache === undefined ? openBuildCache() : (opts.cache ?? undefined);
    const { facts, scan } = await readInputs(req, workDir, progress, signal, cache);
    checkAbort();
    const plan = planBuild(req, facts, { workDir, tmpIso });
    progress({
      step: 'scan',
      kind: 'info',
      message: `provisioning services found: ${facts.unitsFound.join(', ') || 'none'}; all of ${plan.change.mask.join(', ')} will be masked`,
    });
    const generated = await generateFiles(plan, facts.bootkit.initramfs, scan, progress, signal);
    const manifest = composeManifest(req, facts, plan, generated);
    await writeFile(plan.manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
    checkAbort();
    const sha256 = await inContext('writing the ISO', () =>
      assembleIso(plan.iso, progress, signal, opts.hashIso ?? false),
    );
    await chmod(tmpIso, 0o600);
    await publish(tmpIso, output, req.force);
    const size = (await stat(output)).size;
    const seconds = (Date.now() - started) / 1000;
    progress({
      step: 'done',
      kind: 'info',
      message: `wrote ${output} (${(size / 2 ** 20).toFixed(1)} MiB${sha256 ? `, sha256 ${sha256}` : ''}) in ${seconds.toFixed(1)} s`,
    });
    return { output, volid: plan.volid, ...(sha256 ? { sha256 } : {}), size, manifest, seconds };
  } catch (err) {
    if (signal?.aborted && !(err instanceof InterruptedError)) {
      throw new InterruptedError('interrupted; nothing was written', { cause: err });
    }
    throw err;
  } finally {
    process.umask(umask);
    await removeTemp(tmpIso);
    await removeTemp(workDir);
  }
}
