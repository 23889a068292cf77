// Why: the secrets promise (issue 16): a build with a known password (through `hash-password`)
// and a proxy URL with credentials leaves the cleartext password nowhere, and the crypt hash and
// the proxy credentials only in the installer's data (/etc/make-iso/install.env, which the node
// needs). Every layer is searched: the command outputs (--verbose, --json, validate, inspect),
// the answers file, the whole ISO's bytes (system area and the FAT ESP too), every file on it,
// each archive of the initramfs chain decompressed, and the rootfs tar inside, entry by entry.
// Two builds: overlay mode (the appended archive holds install.env) and rewrite mode
// (install.env goes into the rewritten rootfs.tar.gz).
// Part of the e2e project (its global setup provides the Debian fixtures); no VM is booted.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { walkInitramfs } from '../../src/initramfs/container.js';
import { decodeMember, detectCompression } from '../../src/initramfs/compression.js';
import { ByteReader } from '../../src/io/byte-reader.js';
import { readTar } from '../../src/rootfs/tar.js';
import { projectRoot } from '../../src/version.js';
import type { Fixtures } from '../helpers/fixtures.js';

const MAIN = join(projectRoot, 'dist/cli/main.js');
const tag = (): string => randomBytes(4).toString('hex');
/** The user's password: may appear nowhere, not even in installer data. */
const PASSWORD = `Clear-${tag()}-pw`;
const PROXY_USER = `pxuser${tag()}`;
/**
 * `@` and `/` in the password: the manifest's redaction once stopped at the first of them and
 * showed the rest, so the part after the `@` is searched on its own too.
 */
const PROXY_PASS_TAIL = `${tag()}/sec`;
const PROXY_PASS = `Px${tag()}@${PROXY_PASS_TAIL}`;
const PROXY = `http://${PROXY_USER}:${PROXY_PASS}@proxy.example.com:3128`;

/** Where a secret may sit: the installer's answers, as the node reads them. */
const INSTALLER_DATA = /(^|\/)etc\/make-iso\/install\.env$/;

interface Hit {
  /** The outermost thing searched (an output, a file on the ISO, the ISO itself). */
  layer: string;
  /** Inside it: the initramfs entry, or `rootfs.tar.gz > tar entry`. */
  path: string;
  secret: string;
}

let fx: Fixtures;
let root: string;
let hash: string;
let secrets: Map<string, Buffer>;

function run(args: string[], input?: string) {
  return execa(process.execPath, [MAIN, ...args], {
    reject: false,
    env: { NO_COLOR: '1', TMPDIR: root },
    ...(input === undefined ? { stdin: 'ignore' as const } : { input }),
  });
}

/** Finds secrets in a stream of chunks, across chunk boundaries. */
async function scan(chunks: AsyncIterable<Uint8Array>, found: (secret: string) => void): Promise<void> {
  const keep = Math.max(...[...secrets.values()].map((b) => b.length)) - 1;
  let tail = Buffer.alloc(0);
  for await (const chunk of chunks) {
    const buf = tail.length > 0 ? Buffer.concat([tail, chunk]) : Buffer.from(chunk);
    for (const [name, bytes] of secrets) if (buf.includes(bytes)) found(name);
    tail = buf.subarray(Math.max(0, buf.length - keep));
  }
}

async function* once(b: Buffer | string): AsyncGenerator<Buffer> {
  yield Buffer.from(b);
}

async function* concat(...parts: AsyncIterable<Uint8Array>[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield* p;
}

async function scanText(layer: string, text: string | Buffer, hits: Hit[]): Promise<void> {
  const seen = new Set<string>();
  await scan(once(text), (secret) => seen.add(secret));
  for (const secret of seen) hits.push({ layer, path: '', secret });
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/**
 * Every entry of every archive of the initramfs chain, decompressed (headers too); the entry
 * `rootfs.tar.gz` is decompressed in turn and read as tar, entry by entry.
 */
async function scanInitramfs(layer: string, initrd: string, hits: Hit[]): Promise<{ tarEntries: number }> {
  let tarEntries = 0;
  const add = (path: string) => (secret: string) => {
    if (!hits.some((h) => h.layer === layer && h.path === path && h.secret === secret)) {
      hits.push({ layer, path, secret });
    }
  };
  await walkInitramfs(initrd, async (archive, entry) => {
    const where = `archive ${archive.index} (${archive.compression}): ${entry.name}`;
    if (entry.name.replace(/^\.?\//, '') === 'rootfs.tar.gz') {
      await scan(once(entry.headerRaw), add(where));
      const reader = new ByteReader(entry.data());
      const c = detectCompression(await reader.peek(8), where);
      const tar = c === 'none' ? reader : new ByteReader(decodeMember(reader, c));
      for await (const t of readTar(tar)) {
        if (t.kind !== 'entry') continue;
        tarEntries++;
        await scan(concat(once(Buffer.concat(t.headerRaw)), t.data()), add(`${where} > ${t.path}`));
      }
    } else {
      await scan(concat(once(entry.headerRaw), entry.data()), add(where));
    }
  });
  return { tarEntries };
}

/** Extracts the ISO and searches it, its files and the layers inside initrd.img. */
async function scanIso(iso: string, hits: Hit[]): Promise<{ files: string[]; tarEntries: number }> {
  const name = relative(root, iso);
  await scan(createReadStream(iso, { highWaterMark: 1 << 20 }), (secret) => {
    if (!hits.some((h) => h.layer === name && h.secret === secret)) hits.push({ layer: name, path: '', secret });
  });
  const tree = `${iso}.tree`;
  await mkdir(tree);
  await execa('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', '/', tree]);
  const files = (await filesUnder(tree)).map((f) => relative(tree, f)).sort();
  let tarEntries = 0;
  for (const f of files) {
    const layer = `${name}:/${f}`;
    if (f === 'boot/initrd.img') {
      ({ tarEntries } = await scanInitramfs(layer, join(tree, f), hits));
    } else {
      await scan(createReadStream(join(tree, f)), (secret) => {
        if (!hits.some((h) => h.layer === layer && h.secret === secret)) hits.push({ layer, path: '', secret });
      });
    }
  }
  return { files, tarEntries };
}

async function sha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest('hex');
}

const forbidden = (hits: Hit[]): Hit[] =>
  hits.filter((h) => h.secret === 'password' || !INSTALLER_DATA.test(h.path) || !h.layer.includes('initrd.img'));

beforeAll(async () => {
  if (!existsSync(MAIN)) throw new Error('dist/cli/main.js is missing: run `npm run build` first');
  fx = inject('fixtures');
  root = await mkdtemp(join(tmpdir(), 'make-iso-secrets-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('secrets', () => {
  it('hash-password reads stdin and prints only the hash, which is the password’s sha512-crypt', async () => {
    const r = await run(['hash-password'], `${PASSWORD}\n`);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    hash = String(r.stdout).trim();
    expect(hash).toMatch(/^\$6\$[./0-9A-Za-z]{1,16}\$[./0-9A-Za-z]{86}$/);
    expect(`${String(r.stdout)}${String(r.stderr)}`).not.toContain(PASSWORD);
    const salt = hash.split('$')[2] ?? '';
    const openssl = await execa('openssl', ['passwd', '-6', '-salt', salt, '-stdin'], { input: PASSWORD });
    expect(openssl.stdout.trim()).toBe(hash);
    secrets = new Map([
      ['password', Buffer.from(PASSWORD)],
      ['hash', Buffer.from(hash)],
      ['proxy user', Buffer.from(PROXY_USER)],
      ['proxy password', Buffer.from(PROXY_PASS)],
      ['proxy password tail', Buffer.from(PROXY_PASS_TAIL)],
    ]);
  });

  const builds = [
    { name: 'overlay', mode: 'overlay', flag: '--verbose' },
    { name: 'rewrite', mode: 'rewrite', flag: '--json' },
  ] as const;

  for (const b of builds) {
    it(`${b.mode} mode, ${b.flag}: the password nowhere; hash and proxy credentials only in install.env`, async () => {
      expect(hash, 'the hash-password case ran first').toMatch(/^\$6\$/);
      const dir = join(root, b.name);
      await mkdir(dir);
      const answers = join(dir, 'answers.yaml');
      const iso = join(dir, 'site.iso');
      await writeFile(
        answers,
        [
          `bootkit: { archive: '${fx.builds['full-gzip'].tarball}' }`,
          `osImage: { path: '${fx.osImage}' }`,
          `output: { path: '${iso}', sourceDateEpoch: 1700000000 }`,
          `user: { name: edge, passwordHash: '${hash}' }`,
          `proxy: { http: '${PROXY}', https: '${PROXY}', noProxy: 'localhost' }`,
          `mode: ${b.mode}`,
        ].join('\n'),
        { mode: 0o600 },
      );
      const hits: Hit[] = [];

      const validate = await run(['validate', '--answers', answers]);
      expect(validate.exitCode, String(validate.stderr)).toBe(0);
      await scanText('validate stdout+stderr', `${String(validate.stdout)}${String(validate.stderr)}`, hits);
      const validateJson = await run(['validate', '--answers', answers, '--json']);
      expect(validateJson.exitCode, String(validateJson.stderr)).toBe(0);
      await scanText('validate --json', `${String(validateJson.stdout)}${String(validateJson.stderr)}`, hits);

      const build = await run(['--answers', answers, b.flag]);
      expect(build.exitCode, String(build.stderr)).toBe(0);
      if (b.flag === '--json') {
        const events = String(build.stdout)
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { type: string });
        expect(events.at(-1)).toMatchObject({ type: 'result' });
      } else {
        expect(String(build.stderr)).toMatch(/overlay mode/); // verbose: every step as a line
      }
      await scanText(`build ${b.flag} stdout`, String(build.stdout), hits);
      await scanText(`build ${b.flag} stderr`, String(build.stderr), hits);

      const inspect = await run(['inspect', iso, '--json']);
      expect(inspect.exitCode, String(inspect.stderr)).toBe(0);
      await scanText('inspect --json', `${String(inspect.stdout)}${String(inspect.stderr)}`, hits);

      // the answers file as the user wrote it (the build must not have added the password)
      const answersText = await readFile(answers, 'utf8');
      expect(answersText).not.toContain(PASSWORD);
      expect(answersText).toContain(hash);

      // the ISO holds the hash and the proxy credentials: not readable by other users
      expect((await stat(iso)).mode & 0o007, 'ISO mode: nothing for others').toBe(0);

      const { files, tarEntries } = await scanIso(iso, hits);
      expect(files).toEqual(
        expect.arrayContaining(['boot/initrd.img', '.make-iso/manifest.json', 'boot/grub/grub.cfg']),
      );
      expect(tarEntries, 'the rootfs tar inside the initramfs was read').toBeGreaterThan(100);
      // the OS image on the ISO is the input, unchanged: nothing of ours inside it
      const image = files.find((f) => f.startsWith('images/') && f.endsWith('.raw.gz'));
      expect(image).toBeDefined();
      expect(await sha256(join(`${iso}.tree`, image ?? ''))).toBe(await sha256(fx.osImage));

      const manifest = JSON.parse(await readFile(join(`${iso}.tree`, '.make-iso/manifest.json'), 'utf8')) as {
        answers: { redacted: { user: { passwordHash?: string }; proxy: { http?: string; https?: string } } };
      };
      expect(forbidden(hits), 'secrets outside the installer data').toEqual([]);
      expect(String(validate.stdout)).toContain('http://<redacted>@proxy.example.com:3128'); // the summary
      expect(manifest.answers.redacted.user.passwordHash).toBe('<redacted>');
      expect(manifest.answers.redacted.proxy.http).toBe('http://<redacted>@proxy.example.com:3128');

      // the search reaches through the layers: the installer's data is found where it must be
      const inInstallerData = hits.filter((h) => INSTALLER_DATA.test(h.path)).map((h) => h.secret);
      expect(new Set(inInstallerData)).toEqual(
        new Set(['hash', 'proxy user', 'proxy password', 'proxy password tail']),
      );
      const where = hits.find((h) => INSTALLER_DATA.test(h.path))?.path ?? '';
      expect(where).toMatch(b.mode === 'overlay' ? /^archive [1-9].*make-iso-overlay\// : /rootfs\.tar\.gz > /);
    });
  }

  it('a password pasted where the hash goes, and a bad proxy URL, are refused without echoing them', async () => {
    const answers = join(root, 'mistakes.yaml');
    await writeFile(
      answers,
      [
        `bootkit: { archive: '${fx.builds['full-gzip'].tarball}' }`,
        `osImage: { path: '${fx.osImage}' }`,
        `output: { path: '${join(root, 'never.iso')}' }`,
        `user: { name: edge, passwordHash: '${PASSWORD}' }`,
        `proxy: { http: '${PROXY} x', https: '${PROXY}' }`,
      ].join('\n'),
      { mode: 0o600 },
    );
    const hits: Hit[] = [];
    for (const args of [
      ['validate', '--answers', answers],
      ['validate', '--answers', answers, '--json'],
      ['--answers', answers, '--verbose'],
      ['--answers', answers, '--json'],
    ]) {
      const r = await run(args);
      expect(r.exitCode, String(r.stderr)).toBe(2);
      const out = `${String(r.stdout)}${String(r.stderr)}`;
      expect(out).toMatch(/user\.passwordHash: is not a SHA-512 crypt hash/);
      expect(out).toMatch(/proxy\.http: must be a proxy URL/);
      await scanText(args.join(' '), out, hits);
    }
    expect(hits).toEqual([]);
    expect(existsSync(join(root, 'never.iso'))).toBe(false);
  });
});
