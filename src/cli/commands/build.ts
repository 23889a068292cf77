// Why: `make-iso build --answers FILE` and the top-level `make-iso --answers FILE` (flags override
// the file, the file overrides defaults); with no arguments on a terminal, the wizard.
import type { Command } from 'commander';
import { didYouMean } from '../../answers/load.js';
import type { Answers } from '../../answers/schema.js';
import { UserError } from '../../errors.js';
import { loadForBuild, reportBuild, reportNodesBuild, runBuild, runNodesBuild, type BuildFlags } from '../build-run.js';
import type { Cli } from '../context.js';
import { setProcessOutput, type OutputFlags } from '../output.js';
import { terminalPrompts } from '../prompts.js';
import { usbWriteOffer } from '../usb-offer.js';
import { runWizard } from '../wizard.js';

interface BuildOptions extends BuildFlags, OutputFlags {
  answers?: string;
  nodes?: string;
  outputDir?: string;
  shard?: string;
  shardCount?: string;
}

function addBuildOptions(cmd: Command, answersRequired: boolean): Command {
  const answers = '-a, --answers <file>';
  const what = 'the answers file (YAML or JSON); `make-iso init` writes a template';
  return (answersRequired ? cmd.requiredOption(answers, what) : cmd.option(answers, what))
    .option('-o, --output <iso>', 'write the ISO here (overrides output.path)')
    .option('-f, --force', 'replace the output ISO if it exists')
    .option('--bootkit <archive>', 'bootkit release tar.gz (overrides bootkit)')
    .option('--os-image <file>', 'OS image *.raw.gz (overrides osImage)')
    .option('--sha256', 'hash the written ISO and print its sha256 (reads the ISO once more)')
    .option(
      '--nodes <file>',
      'a node list (YAML, or CSV by its .csv name): one ISO per node, with its hostname, network, disk rules, ssh keys; needs --output-dir (docs/fleet.md)',
    )
    .option('--output-dir <dir>', 'with --nodes: write <dir>/<node name>.iso')
    .option('--shard <I/N>', 'with --nodes: build only the nodes whose list index % N == I (0-based I)')
    .option(
      '--shard-count <N>',
      'with --nodes: the shard count when the index comes from JOB_COMPLETION_INDEX (Kubernetes Indexed Job; also MAKE_ISO_SHARD_COUNT)',
    )
    .option('--no-cache', 'do not use or fill the build cache (see make-iso cache; also MAKE_ISO_NO_CACHE=1)')
    .option(
      '--packages <path>',
      '.rpm/.deb file or directory of them to add to the installer (repeatable; overrides packages)',
      (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
    )
    .option('--json', 'print JSON-lines progress events and a final result object on stdout')
    .option('-q, --quiet', 'print only warnings, errors and the result')
    .option('-v, --verbose', 'print every step as a plain line, with progress every 10%');
}

async function buildFromFile(file: string, opts: BuildOptions): Promise<void> {
  const out = setProcessOutput(opts);
  if (!opts.nodes && (opts.shard !== undefined || opts.shardCount !== undefined)) {
    throw new UserError('--shard and --shard-count split a node list: give --nodes FILE --output-dir DIR too');
  }
  if (opts.nodes || opts.outputDir) {
    if (!opts.nodes || !opts.outputDir) throw new UserError('--nodes FILE and --output-dir DIR go together');
    reportNodesBuild(await runNodesBuild(file, { ...opts, nodes: opts.nodes, outputDir: opts.outputDir }, out), out);
    return;
  }
  const answers = await loadForBuild(file, opts, out);
  const result = await runBuild(
    answers,
    { force: opts.force ?? false, answersFile: file, sha256: opts.sha256 ?? false, cache: opts.cache ?? true },
    out,
  );
  reportBuild(result, out);
}

/** What the wizard calls after saving: the same build as `make-iso --answers FILE`. */
async function buildFromWizard(answers: Answers, file: string, force: boolean): Promise<void> {
  const out = setProcessOutput({});
  const result = await runBuild(answers, { force, answersFile: file }, out);
  reportBuild(result, out);
}

export function register(program: Command, cli: Cli): void {
  addBuildOptions(
    program.command('build').description('build the installer ISO from an answers file (no questions asked)'),
    true,
  ).action((opts: BuildOptions & { answers: string }) => buildFromFile(opts.answers, opts));

  // Top level: `make-iso --answers FILE [flags]`, or the wizard. Program options are read only
  // before a subcommand name, so `make-iso doctor --json` still reaches doctor.
  program.enablePositionalOptions();
  addBuildOptions(program, false)
    .allowExcessArguments(true)
    .action(async (opts: BuildOptions) => {
      const [command] = program.args;
      if (command !== undefined) {
        const guess = didYouMean(
          command,
          program.commands.map((c) => c.name()),
        );
        throw new UserError(
          `unknown command '${command}'${guess ? `; did you mean '${guess}'?` : ''} (see make-iso --help)`,
        );
      }
      if (opts.answers) return buildFromFile(opts.answers, opts);
      // --no-cache's default (cache: true) is no flag given
      const flagsGiven = Object.entries(opts).some(([k, v]) => v !== undefined && !(k === 'cache' && v === true));
      if (flagsGiven) {
        throw new UserError('--answers FILE is needed to build (or run make-iso with no arguments on a terminal)');
      }
      if (!cli.isTTY) {
        program.outputHelp({ error: true });
        throw new UserError('nothing to do: give --answers FILE, or run make-iso on a terminal to answer questions');
      }
      await runWizard({
        prompts: terminalPrompts(process.stderr),
        out: setProcessOutput({}),
        cwd: process.cwd(),
        env: process.env,
        build: buildFromWizard,
        afterBuild: usbWriteOffer(cli),
      });
    });
}
