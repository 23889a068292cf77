// Why: `make-iso cache` shows what the build cache holds (bootkits read before, remembered file
// digests) and `make-iso cache clear` empties it; see docs/performance.md.
import type { Command } from 'commander';
import { buildCacheDir, openBuildCache } from '../../build/cache.js';
import { formatBytes } from '../../io/size.js';
import type { Cli } from '../context.js';
import { setProcessOutput, type OutputFlags } from '../output.js';

export function register(program: Command, _cli: Cli): void {
  const cache = program
    .command('cache')
    .description('show the build cache (bootkits read before, remembered file digests); `cache clear` empties it')
    .option('--json', 'print the result as a JSON object')
    .action(async (opts: OutputFlags) => {
      const out = setProcessOutput(opts);
      const c = openBuildCache();
      if (!c) {
        out.result({ ok: true, enabled: false }, ['the build cache is disabled (MAKE_ISO_NO_CACHE is set)']);
        return;
      }
      const s = await c.summary();
      out.result({ ok: true, enabled: true, ...s }, [
        `build cache: ${s.dir} (${formatBytes(s.bytes)})`,
        `  bootkits: ${s.bootkits.length}`,
        ...s.bootkits.map((b) => `    ${b.name}  ${formatBytes(b.bytes)}`),
        `  remembered file digests: ${s.hashes}`,
      ]);
    });
  cache
    .command('clear')
    .description('remove everything in the build cache')
    .option('--json', 'print the result as a JSON object')
    .action(async (opts: OutputFlags) => {
      const out = setProcessOutput(opts);
      const dir = buildCacheDir();
      const c = openBuildCache();
      if (!c || !dir) {
        out.result({ ok: true, enabled: false }, ['the build cache is disabled (MAKE_ISO_NO_CACHE is set)']);
        return;
      }
      const before = await c.summary();
      await c.clear();
      out.result({ ok: true, enabled: true, dir, freed: before.bytes }, [
        `cleared ${dir} (${formatBytes(before.bytes)} freed)`,
      ]);
    });
}
