// Why: installer-scripts/image-needs.tsv is the one list of answers that need something in the
// OS image. The build (src/image-needs.ts) and the installer's step 1 (lib/config.sh) must refuse
// the same answers with the same messages; a hand-edited or older ISO must still fail at step 1,
// before the disk is written.
import { describe, expect, it } from 'vitest';
import type { Answers } from '../../../src/answers/schema.js';
import { parseAnswers } from '../../../src/answers/load.js';
import { IMAGE_FACT_KEYS, IMAGE_NEEDS, imageProblems, unmetImageNeeds } from '../../../src/image-needs.js';
import type { OsImageFacts } from '../../../src/io/image-probe.js';
import { installEnvEntries } from '../../../src/render/installer-config.js';
import { shellAssignments, type ShellValue } from '../../../src/render/shell.js';
import { HASH as ANSWERS_HASH } from '../answers/helpers.js';
import { KEY, validEnv } from './install-env.js';
import { bash, tempDir } from './run-bash.js';

const NO_FACTS = Object.fromEntries(Object.keys(IMAGE_FACT_KEYS).map((k) => [k, 'no']));
const YES_FACTS = Object.fromEntries(Object.keys(IMAGE_FACT_KEYS).map((k) => [k, 'yes']));

/** What lib/config.sh's config_image_needs prints for an install.env (after config_load). */
function bashNeeds(over: Record<string, ShellValue>): { errors: string[]; needs: string[] } {
  const tmp = tempDir();
  try {
    const file = tmp.file('install.env', shellAssignments(validEnv(over)));
    const r = bash(
      `set -euo pipefail
source lib/config.sh
config_load "$1" || true
for e in "\${CONFIG_ERRORS[@]}"; do printf 'E %s\\n' "$e"; done
config_image_needs | sed 's/^/N /'`,
      [file],
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout.split('\n').filter(Boolean);
    return {
      errors: lines.filter((l) => l.startsWith('E ')).map((l) => l.slice(2)),
      needs: lines.filter((l) => l.startsWith('N ')).map((l) => l.slice(2)),
    };
  } finally {
    tmp.cleanup();
  }
}

const tsNeeds = (over: Record<string, ShellValue>) => unmetImageNeeds(new Map(validEnv(over)));

const CASES: Array<[string, Record<string, ShellValue>]> = [
  ['nothing that needs the image', { MI_NTP_SERVERS: [], MI_USER_SUDO: 'none' }],
  ['cloudInit extras', { MI_CLOUD_INIT: 'yes', MI_NTP_SERVERS: [], MI_USER_SUDO: 'none' }],
  ['ntp servers', { MI_NTP_SERVERS: ['pool.ntp.org'], MI_USER_SUDO: 'none' }],
  ['user apps', { MI_USER_APPS_DIR: 'user-apps', MI_NTP_SERVERS: [], MI_USER_SUDO: 'none' }],
  ['a persistent size', { MI_PERSISTENT_SIZE_GIB: '20', MI_NTP_SERVERS: [], MI_USER_SUDO: 'none' }],
  [
    'persistent size 0 (keep the image size)',
    { MI_PERSISTENT_SIZE_GIB: '0', MI_NTP_SERVERS: [], MI_USER_SUDO: 'none' },
  ],
  ['sudo nopasswd', { MI_USER_SUDO: 'nopasswd', MI_NTP_SERVERS: [] }],
  ['hostType container', { MI_HOST_TYPE: 'container', MI_NTP_SERVERS: [], MI_USER_SUDO: 'none' }],
  [
    'hostType kubernetes with a bundle',
    {
      MI_HOST_TYPE: 'kubernetes',
      MI_K3S_BUNDLE: 'k3s-bundle',
      MI_K3S_SHA256S: [`${'a'.repeat(64)}  k3s`],
      MI_NTP_SERVERS: [],
      MI_USER_SUDO: 'none',
    },
  ],
  [
    'everything at once',
    {
      MI_CLOUD_INIT: 'yes',
      MI_USER_APPS_DIR: 'user-apps',
      MI_PERSISTENT_SIZE_GIB: '8',
      MI_USER_SUDO: 'password',
      MI_HOST_TYPE: 'container',
      MI_K3S_BUNDLE: 'k3s-bundle',
      MI_K3S_SHA256S: [`${'a'.repeat(64)}  k3s`],
    },
  ],
];

describe('image-needs.tsv parity', () => {
  it('every need of the table is asked by one of these cases', () => {
    const all = tsNeeds({ ...NO_FACTS, ...CASES.at(-1)![1] });
    expect(all).toEqual(IMAGE_NEEDS.map((n) => n.message));
  });

  it.each(CASES)('%s: bash and TypeScript list the same unmet needs on an image that lacks everything', (_, over) => {
    const env = { ...NO_FACTS, ...over };
    const b = bashNeeds(env);
    expect(b.errors).toEqual([]);
    expect(b.needs).toEqual(tsNeeds(env));
  });

  it.each(CASES)('%s: nothing is unmet on an image that has everything, or whose facts are unknown', (_, over) => {
    expect(bashNeeds({ ...YES_FACTS, ...over }).needs).toEqual([]);
    expect(tsNeeds({ ...YES_FACTS, ...over })).toEqual([]);
    // an install.env without facts (an older build, or a config rendered without a probe): no check
    expect(bashNeeds(over).needs).toEqual([]);
    expect(tsNeeds(over)).toEqual([]);
  });

  it('the installer refuses an image fact that is not yes, no or empty', () => {
    expect(bashNeeds({ MI_IMAGE_CHRONY: 'maybe' }).errors).toEqual([
      expect.stringMatching(/^MI_IMAGE_CHRONY: must be one of: yes no/),
    ]);
  });
});

function facts(over: Partial<OsImageFacts['has']> = {}, persistent?: { bytes: number; last: boolean }): OsImageFacts {
  const p = { number: 2, name: 'rootfs', typeGuid: '', firstLba: 2048, lastLba: 4095 };
  return {
    layout: {
      rootfs: p,
      esp: { ...p, number: 1, name: 'esp' },
      ...(persistent ? { persistent: { partition: { ...p, number: 3, name: 'edge_persistent' }, ...persistent } } : {}),
    },
    has: { cloudInit: true, chrony: true, sudo: true, sshd: true, containerEngine: true, ...over },
    probedBytes: 0,
    raw: {
      bytes: 4096 * 512,
      sha256: 'cd'.repeat(32),
      ext4: [{ name: 'rootfs', start: 2048 * 512, incompat: 0x2c2, roCompat: 0x46b }],
    },
  };
}

async function answers(yaml: string): Promise<Answers> {
  const r = await parseAnswers(`bootkit: { archive: b.tar.gz }\nosImage: { path: o.raw.gz }\n${yaml}`, '/tmp', {
    checkFiles: false,
  });
  expect(r.errors).toEqual([]);
  return r.answers!;
}

const ctx = { osImageName: 'emt.raw.gz', osImageSha256: 'a'.repeat(64), version: '0.0.0' };
const env = (a: Answers, image?: OsImageFacts) =>
  new Map(installEnvEntries(a, { ...ctx, ...(image ? { image } : {}) }));

describe('the build against the probed image', () => {
  it('renders the facts into install.env: yes/no when probed, empty when not', async () => {
    const a = await answers(`user: { name: edge, passwordHash: '${ANSWERS_HASH}' }\n`);
    const probed = env(a, facts({ chrony: false }, { bytes: 2 ** 30, last: true }));
    expect(Object.fromEntries([...probed].filter(([k]) => k.startsWith('MI_IMAGE_')))).toEqual({
      MI_IMAGE_CLOUD_INIT: 'yes',
      MI_IMAGE_CHRONY: 'no',
      MI_IMAGE_SUDO: 'yes',
      MI_IMAGE_SSHD: 'yes',
      MI_IMAGE_PERSISTENT: 'yes',
      MI_IMAGE_CONTAINER_ENGINE: 'yes',
      MI_IMAGE_RAW_BYTES: String(4096 * 512),
      MI_IMAGE_RAW_SHA256: 'cd'.repeat(32),
      MI_IMAGE_EXT4: [`${2048 * 512} ${0x2c2} ${0x46b} rootfs`],
    });
    const unprobed = [...env(a)].filter(([k]) => k.startsWith('MI_IMAGE_'));
    expect(unprobed.every(([, v]) => v === '' || (Array.isArray(v) && v.length === 0))).toBe(true);
  });

  it('refuses ntp servers on an image without chrony and cloud-init, one line each', async () => {
    const a = await answers(
      `user: { name: edge, passwordHash: '${ANSWERS_HASH}' }\nntp: { servers: [pool.ntp.org] }\n`,
    );
    expect(imageProblems(env(a, facts({ cloudInit: false, chrony: false })), facts())).toEqual([
      'ntp.servers needs cloud-init (its ntp module drives chrony), which the OS image lacks',
      'ntp.servers needs chrony, which the OS image lacks',
    ]);
  });

  it('the default sudo policy becomes none on an image without sudo; an explicit one is refused', async () => {
    const noSudo = facts({ sudo: false });
    const dflt = await answers(`user: { name: edge, sshKeys: ['${KEY}'] }\n`);
    expect(env(dflt, noSudo).get('MI_USER_SUDO')).toBe('none');
    expect(imageProblems(env(dflt, noSudo), noSudo)).toEqual([]);
    expect(env(dflt, facts()).get('MI_USER_SUDO')).toBe('nopasswd');
    const explicit = await answers(`user: { name: edge, sshKeys: ['${KEY}'], sudo: nopasswd }\n`);
    expect(imageProblems(env(explicit, noSudo), noSudo)).toEqual(['user.sudo needs sudo, which the OS image lacks']);
  });

  it('refuses a persistent size smaller than the image edge_persistent, or one that is not the last partition', async () => {
    const a = await answers(`user: { name: edge, passwordHash: '${ANSWERS_HASH}' }\npersistent: { sizeGiB: 1 }\n`);
    const big = facts({}, { bytes: 2 * 2 ** 30, last: true });
    expect(imageProblems(env(a, big), big)).toEqual([
      "persistent.sizeGiB 1 GiB is smaller than the OS image's edge_persistent (2048 MiB)",
    ]);
    const middle = facts({}, { bytes: 2 ** 20, last: false });
    expect(imageProblems(env(a, middle), middle)).toEqual([
      'persistent.sizeGiB needs edge_persistent to be the last partition of the OS image, and it is not',
    ]);
    const fits = facts({}, { bytes: 2 ** 20, last: true });
    expect(imageProblems(env(a, fits), fits)).toEqual([]);
    const none = facts();
    expect(imageProblems(env(a, none), none)).toEqual([
      'persistent.sizeGiB needs an edge_persistent partition, which the OS image lacks',
    ]);
  });
});
