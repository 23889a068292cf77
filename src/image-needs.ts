// Why: "answer -> what the OS image must carry" has one home, installer-scripts/image-needs.tsv,
// read here (the build refuses such answers before any ISO work) and by the installer's step 1
// (lib/config.sh), so a hand-edited or older ISO still fails before the disk is written.
// Both sides decide from the same install.env values; a unit test checks they agree.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OsImageFacts } from './io/image-probe.js';
import type { ShellValue } from './render/shell.js';
import { projectRoot } from './version.js';

export const IMAGE_NEEDS_FILE = join(projectRoot, 'installer-scripts', 'image-needs.tsv');

export const NEED_IDS = [
  'cloud_init',
  'ntp_cloud_init',
  'ntp_chrony',
  'user_apps',
  'persistent_size',
  'sudo',
  'container_engine',
  'k3s_persistent',
] as const;
export type NeedId = (typeof NEED_IDS)[number];

export interface ImageNeed {
  need: NeedId;
  /** install.env key of the image fact: yes, no, or empty (not probed). */
  fact: string;
  message: string;
}

/** '#' comment lines, the header `need fact message`, then one tab-separated row per need. */
export function parseImageNeeds(text: string): ImageNeed[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
  const [header, ...rows] = lines;
  if (header !== 'need\tfact\tmessage') throw new Error(`image-needs.tsv: unexpected header "${header}"`);
  return rows.map((line) => {
    const [need, fact, message, ...extra] = line.split('\t');
    if (extra.length > 0 || !(NEED_IDS as readonly string[]).includes(need ?? '') || !fact || !message) {
      throw new Error(`image-needs.tsv: bad row "${line}"`);
    }
    return { need: need as NeedId, fact, message };
  });
}

export const IMAGE_NEEDS: readonly ImageNeed[] = parseImageNeeds(readFileSync(IMAGE_NEEDS_FILE, 'utf8'));

/** The install.env keys holding the image facts, with the probe fact behind each. */
export const IMAGE_FACT_KEYS = {
  MI_IMAGE_CLOUD_INIT: 'cloudInit',
  MI_IMAGE_CHRONY: 'chrony',
  MI_IMAGE_SUDO: 'sudo',
  MI_IMAGE_SSHD: 'sshd',
  MI_IMAGE_PERSISTENT: 'persistent',
  MI_IMAGE_CONTAINER_ENGINE: 'containerEngine',
} as const;

/** The image-fact entries of install.env: yes/no, or empty strings when the image was not probed. */
export function imageFactEntries(image: OsImageFacts | undefined): Array<readonly [string, string]> {
  return Object.entries(IMAGE_FACT_KEYS).map(([key, fact]) => {
    if (!image) return [key, ''] as const;
    const has = fact === 'persistent' ? image.layout.persistent !== undefined : image.has[fact];
    return [key, has ? 'yes' : 'no'] as const;
  });
}

const str = (v: ShellValue | undefined): string => (typeof v === 'string' ? v : v === undefined ? '' : String(v));
const list = (v: ShellValue | undefined): readonly string[] => (Array.isArray(v) ? (v as readonly string[]) : []);

/** Whether the install.env values ask for `need` (the same tests as config_need_asked in lib/config.sh). */
export function needAsked(need: NeedId, env: ReadonlyMap<string, ShellValue>): boolean {
  switch (need) {
    case 'cloud_init':
      return str(env.get('MI_CLOUD_INIT')) === 'yes';
    case 'ntp_cloud_init':
    case 'ntp_chrony':
      return list(env.get('MI_NTP_SERVERS')).length > 0;
    case 'user_apps':
      return str(env.get('MI_USER_APPS_DIR')) !== '';
    case 'persistent_size': {
      const v = str(env.get('MI_PERSISTENT_SIZE_GIB'));
      return v !== '' && Number(v) !== 0;
    }
    case 'sudo':
      return str(env.get('MI_USER_SUDO')) !== 'none';
    case 'container_engine':
      return str(env.get('MI_HOST_TYPE')) === 'container';
    case 'k3s_persistent':
      return str(env.get('MI_K3S_BUNDLE')) !== '';
  }
}

/** The messages of every need the install.env values ask for and their image facts deny. */
export function unmetImageNeeds(env: ReadonlyMap<string, ShellValue>): string[] {
  return IMAGE_NEEDS.filter((n) => str(env.get(n.fact)) === 'no' && needAsked(n.need, env)).map((n) => n.message);
}

const GIB = 2 ** 30;

/**
 * Everything about the answers (as install.env values) that cannot apply to the probed image:
 * the shared needs, and what only the build can see (edge_persistent's size and place).
 */
export function imageProblems(env: ReadonlyMap<string, ShellValue>, image: OsImageFacts): string[] {
  const problems = unmetImageNeeds(env);
  const pers = image.layout.persistent;
  const want = str(env.get('MI_PERSISTENT_SIZE_GIB'));
  if (pers && want !== '' && Number(want) !== 0) {
    if (!pers.last) {
      problems.push('persistent.sizeGiB needs edge_persistent to be the last partition of the OS image, and it is not');
    } else if (Number(want) * GIB < pers.bytes) {
      problems.push(
        `persistent.sizeGiB ${want} GiB is smaller than the OS image's edge_persistent (${Math.round(pers.bytes / 2 ** 20)} MiB)`,
      );
    }
  }
  return problems;
}
