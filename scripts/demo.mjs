// Why: the README's first command ends here: build (or reuse) the Debian demo bootkit, write a
// demo answers file, build a real installer ISO with the CLI, and say how to boot it.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const outDir = resolve(process.env.MAKE_ISO_DEMO_DIR ?? join(root, 'demo-out'));
mkdirSync(outDir, { recursive: true });

// Node 22 runs the TypeScript fixture helper directly (type stripping).
const { ensureFixtures } = await import(join(root, 'test', 'helpers', 'fixtures.ts'));
process.stderr.write('demo: preparing the Debian demo bootkit (the first run builds it: several minutes)...\n');
const fx = await ensureFixtures();

// demo password: "edge" (openssl passwd -6 -salt makeisodemo edge); only its hash is stored
const hash = execFileSync('openssl', ['passwd', '-6', '-salt', 'makeisodemo', 'edge'], { encoding: 'utf8' }).trim();
const iso = join(outDir, 'make-iso-demo.iso');
const answersFile = join(outDir, 'answers.yaml');
writeFileSync(
  answersFile,
  [
    '# yaml-language-server: $schema=../answers.schema.json',
    '# Demo answers written by scripts/demo.sh (the demo user "edge" has the password "edge").',
    'bootkit:',
    `  archive: ${JSON.stringify(fx.builds['full-gzip'].tarball)}`,
    'osImage:',
    `  path: ${JSON.stringify(fx.osImage)}`,
    'output:',
    `  path: ${JSON.stringify(iso)}`,
    'user:',
    '  name: edge',
    `  passwordHash: ${JSON.stringify(hash)}`,
    'hostname: edge-demo',
    'disk:',
    '  transport: [nvme]',
    'afterInstall: poweroff',
    '',
  ].join('\n'),
);
chmodSync(answersFile, 0o600);

execFileSync(process.execPath, [join(root, 'dist', 'cli', 'main.js'), '--answers', answersFile, '--force'], {
  stdio: 'inherit',
});

const target = join(outDir, 'target-nvme.raw');
if (!existsSync(target)) execFileSync('truncate', ['-s', '4G', target]);
process.stdout.write(`
demo: the installer ISO is ${iso}
demo: inspect it:   node dist/cli/main.js inspect ${iso}
demo: boot it (BIOS, as a CD, a blank 4 GiB NVMe disk as target; serial console here; Ctrl-A X quits):

  qemu-system-x86_64 -machine q35 -accel tcg -cpu max -smp 2 -m 2048 -nographic -no-reboot \\
    -cdrom ${iso} \\
    -drive file=${target},format=raw,if=none,id=n0 -device nvme,drive=n0,serial=DEMO0001

  (add -drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd
   -drive if=pflash,format=raw,file=<a copy of /usr/share/OVMF/OVMF_VARS_4M.fd> for UEFI)
`);
