// Why: the one build path shared by `make-iso build`, `make-iso --answers` and the wizard:
// load + validate the answers, render the installer config, then hand a BuildRequest to the generator.
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { buildIso, type BuildRequest, type BuildResult } from '../build.js';
import { BuildCache, openBuildCache } from '../build/cache.js';
import { loadNodeList, nodeName, nodeOverrides, nodeProblem } from '../answers/nodes.js';
import { makeTempDir, removeTemp } from '../io/temps.js';
import { normalizeUnitName } from '../rootfs/change.js';
import { loadAnswers, type Override } from '../answers/load.js';
import type { Answers } from '../answers/schema.js';
import { InterruptedError, MissingToolError, UserError, ValidationError } from '../errors.js';
import { checkHostTools } from '../host/tools.js';
import { refuseOutputIsInput } from '../build/publish.js';
import type { ProgressEvent, ProgressSink } from '../progress.js';
import { answersDigest, redactAnswers } from '../render/installer-config.js';
import { formatBytes } from '../io/size.js';
import { hasK3sBundle } from '../k3s/bundle.js';
import type { Output } from './output.js';
import { inShard, shardFrom, type Shard } from './shard.js';

export interface BuildFlags {
  output?: string;
  force?: boolean;
  bootkit?: string;
  osImage?: string;
  /** --sha256: hash the written ISO (reads it back) and report its sha256. */
  sha256?: boolean;
  /** --no-cache: commander sets cache false. */
  cache?: boolean;
  /** --packages (repeatable): replaces the file's packages list. */
  packages?: string[];
}

/** Flags override the file; their paths resolve against the current directory. */
export function overridesFromFlags(flags: BuildFlags, cwd = process.cwd()): Override[] {
  const o: Override[] = [];
  if (flags.output) o.push({ path: ['output', 'path'], value: resolve(cwd, flags.output) });
  // a bootkit or image from the command line replaces the file's entry, checksum included
  if (flags.bootkit) o.push({ path: ['bootkit'], value: { archive: resolve(cwd, flags.bootkit) } });
  if (flags.osImage) o.push({ path: ['osImage'], value: { path: resolve(cwd, flags.osImage) } });
  if (flags.packages?.length) o.push({ path: ['packages'], value: flags.packages.map((p) => resolve(cwd, p)) });
  return o;
}

/** Loads and validates an answers file; every problem at once as a ValidationError (exit 2). */
export async function loadForBuild(file: string, flags: BuildFlags, out: Pick<Output, 'warn'>): Promise<Answers> {
  const r = await loadAnswers(file, { overrides: overridesFromFlags(flags), force: flags.force ?? false });
  for (const w of r.warnings) out.warn(w);
  if (!r.answers) throw new ValidationError(r.errors, file);
  return r.answers;
}

/** Throws MissingToolError naming every missing build tool and the packages to install. */
export async function requireBuildTools(): Promise<void> {
  const missing = (await checkHostTools(['build'])).filter((t) => !t.present && !t.optional);
  if (missing.length === 0) return;
  const names = missing.map((t) => t.name).join(', ');
  throw new MissingToolError(names, [...new Set(missing.map((t) => t.debianPackage))].sort().join(' '));
}

function epochFromEnv(env: NodeJS.ProcessEnv): number | undefined {
  const v = env.SOURCE_DATE_EPOCH;
  if (v === undefined || v === '') return undefined;
  if (!/^[0-9]+$/.test(v)) throw new UserError(`SOURCE_DATE_EPOCH must be a whole number of seconds, not "${v}"`);
  if (Number(v) >= 2 ** 32) throw new UserError(`SOURCE_DATE_EPOCH must be below 2^32 (4294967296), not ${v}`);
  return Number(v);
}

/**
 * Everything the generator needs, from validated answers (values only). The generator renders
 * the installer config from the answers once it has hashed the OS image (checked against
 * osImage.sha256 or the image's .sha256sum), so the image is read only once.
 */
export async function buildRequestFor(
  a: Answers,
  opts: { force?: boolean; progress?: ProgressSink; signal?: AbortSignal; env?: NodeJS.ProcessEnv },
): Promise<BuildRequest> {
  const bootkit: BuildRequest['bootkit'] = a.bootkit.archive
    ? { archive: a.bootkit.archive }
    : { kernel: a.bootkit.kernel ?? '', initramfs: a.bootkit.initramfs ?? '' };
  const epoch = a.output.sourceDateEpoch ?? epochFromEnv(opts.env ?? process.env);
  return {
    bootkit,
    ...(a.bootkit.sha256 ? { bootkitSha256: a.bootkit.sha256.toLowerCase() } : {}),
    osImage: a.osImage.path,
    ...(a.osImage.sha256 ? { osImageSha256: a.osImage.sha256.toLowerCase() } : {}),
    output: a.output.path,
    force: opts.force ?? false,
    installer: { answers: a },
    answersDigest: answersDigest(a),
    redactedAnswers: redactAnswers(a),
    kernelArgs: a.kernelArgs,
    console: a.console ? { port: a.console.port, speed: a.console.speed } : null,
    tmpfsSize: a.tmpfsSize,
    maskedUnits: a.provisioningServices.map(normalizeUnitName),
    ...(a.userAppsDir ? { userAppsDir: a.userAppsDir } : {}),
    ...(a.packages?.length ? { packages: a.packages } : {}),
    ...(a.hostType === 'kubernetes' && (await hasK3sBundle(a))
      ? { k3s: { ...(a.kubernetes.bundle ? { bundle: a.kubernetes.bundle } : {}) } }
      : {}),
    mode: a.mode,
    ...(epoch !== undefined ? { sourceDateEpoch: epoch } : {}),
  };
}

/** Runs the generator with Ctrl-C wired to an abort; Ctrl-C becomes InterruptedError (exit 130). */
export async function runBuild(
  a: Answers,
  opts: { force?: boolean; answersFile?: string; sha256?: boolean; cache?: boolean | BuildCache },
  out: Output,
): Promise<BuildResult> {
  await refuseOutputIsInput(a.output.path, {
    'answers file': opts.answersFile,
    'bootkit release': a.bootkit.archive,
    kernel: a.bootkit.kernel,
    initramfs: a.bootkit.initramfs,
    'OS image': a.osImage.path,
    'OS image checksum file': `${a.osImage.path}.sha256sum`,
  });
  await requireBuildTools();
  const ac = new AbortController();
  const onSigint = (): void => ac.abort(new InterruptedError('interrupted; the partial ISO was removed'));
  process.once('SIGINT', onSigint);
  try {
    const req = await buildRequestFor(a, { force: opts.force ?? false, progress: out.progress, signal: ac.signal });
    return await buildIso(req, out.progress, ac.signal, {
      hashIso: opts.sha256 ?? false,
      ...(opts.cache === false ? { cache: null } : opts.cache instanceof BuildCache ? { cache: opts.cache } : {}),
    });
  } catch (err) {
    if (ac.signal.aborted) {
      throw ac.signal.reason instanceof InterruptedError
        ? ac.signal.reason
        : new InterruptedError('interrupted', { cause: err });
    }
    throw err;
  } finally {
    process.off('SIGINT', onSigint);
    out.clear();
  }
}

/** The final report of a build, for people and for --json. */
export function reportBuild(result: BuildResult, out: Output): void {
  out.result({ ok: true, ...result }, [
    `built ${result.output}`,
    `  volume id: ${result.volid}`,
    `  size:      ${formatBytes(result.size)}`,
    ...(result.sha256 ? [`  sha256:    ${result.sha256}`] : []),
    `  took:      ${result.seconds.toFixed(1)} s`,
    `next: make-iso write ${result.output} /dev/sdX   (make-iso drives lists candidates)`,
  ]);
}

/** The same output, each distinct warning once (50 nodes from one OS image warn the same thing 50 times). */
export function warnOnce(out: Output): Output {
  const seen = new Set<string>();
  const progress = (e: ProgressEvent): void => {
    if (e.kind === 'warn') {
      const key = e.message ?? e.step;
      if (seen.has(key)) return;
      seen.add(key);
    }
    out.progress(e);
  };
  return Object.assign(Object.create(out) as Output, {
    progress,
    warn: (line: string) => progress({ step: 'warning', kind: 'warn', message: line }),
  });
}

/** What a per-node build did: the ISOs it wrote and, when sharded, its share of the list. */
export interface NodesBuildResult {
  results: BuildResult[];
  shard?: Shard & { nodes: string[]; of: number };
}

/**
 * `make-iso build --answers base.yaml --nodes nodes.yaml|csv --output-dir DIR`: one ISO per node,
 * DIR/<name>.iso. Every node's answers are validated before the first ISO is written (in every
 * shard: a bad node fails every shard); the bootkit is read and scanned once and the OS image
 * hashed once (through the build cache, or a cache for this run only when the cache is disabled).
 * With a shard (`--shard I/N`, or JOB_COMPLETION_INDEX), only the nodes with index % N == I.
 */
export async function runNodesBuild(
  file: string,
  flags: BuildFlags & { nodes: string; outputDir: string; shard?: string; shardCount?: string },
  out: Output,
  env: NodeJS.ProcessEnv = process.env,
): Promise<NodesBuildResult> {
  if (flags.output) throw new UserError('--output names one ISO; with --nodes give --output-dir DIR');
  const shard = shardFrom(flags, env);
  const nodes = await loadNodeList(flags.nodes);
  const dir = resolve(flags.outputDir);
  const base = overridesFromFlags(flags);
  // the answers check wants the output's directory to exist; removed again if a node is invalid
  const created = await mkdir(dir, { recursive: true });
  const planned: Array<{ name: string; answers: Answers }> = [];
  const problems: string[] = [];
  for (const [i, n] of nodes.entries()) {
    const name = nodeName(n.entry);
    const overrides = [
      ...base,
      ...nodeOverrides(n.entry),
      { path: ['output', 'path'], value: join(dir, `${name}.iso`) },
    ];
    const r = await loadAnswers(file, { overrides, force: flags.force ?? false });
    if (i === 0) for (const w of r.warnings) out.warn(w);
    if (r.answers?.nodes && i === 0) {
      // every per-node ISO would also carry the whole fleet list and pick by machine identity
      problems.push(
        'the answers carry a nodes: list (one medium for many machines, docs/fleet-media.md); --nodes builds one ISO per node: use one or the other',
      );
      break;
    }
    if (r.answers) planned.push({ name, answers: r.answers });
    else problems.push(...r.errors.map((e) => nodeProblem(n, e)));
  }
  if (problems.length > 0) {
    if (created) await rm(created, { recursive: true, force: true }).catch(() => undefined);
    throw new ValidationError(problems, file);
  }
  const mine = inShard(planned, shard);
  if (shard) {
    out.info(
      `shard ${shard.index}/${shard.count}: ${mine.length} of ${planned.length} nodes${mine.length ? `: ${mine.map((p) => p.name).join(', ')}` : ''}`,
    );
  }
  const nodeOut = warnOnce(out);
  const shared = flags.cache === false ? undefined : openBuildCache();
  const runDir = shared ? undefined : await makeTempDir('make-iso-cache');
  const cache = shared ?? new BuildCache(runDir!);
  const results: BuildResult[] = [];
  try {
    for (const p of mine) {
      out.info(`node ${p.name} (${results.length + 1}/${mine.length})`);
      results.push(
        await runBuild(
          p.answers,
          { force: flags.force ?? false, answersFile: file, sha256: flags.sha256 ?? false, cache },
          nodeOut,
        ),
      );
    }
  } finally {
    if (runDir) await removeTemp(runDir);
  }
  return {
    results,
    ...(shard ? { shard: { ...shard, nodes: mine.map((p) => p.name), of: planned.length } } : {}),
  };
}

/** The final report of a per-node build. */
export function reportNodesBuild({ results, shard }: NodesBuildResult, out: Output): void {
  const total = results.reduce((s, r) => s + r.seconds, 0);
  out.result({ ok: true, nodes: results, ...(shard ? { shard } : {}) }, [
    `built ${results.length} ISO(s) in ${total.toFixed(1)} s${shard ? ` (shard ${shard.index}/${shard.count}, ${shard.of} nodes in the list)` : ''}`,
    ...results.map((r) => `  ${r.output}  ${r.volid}  ${formatBytes(r.size)}${r.sha256 ? `  sha256 ${r.sha256}` : ''}`),
  ]);
}
