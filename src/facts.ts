// Why: facts the installer (bash) and make-iso (TypeScript) must agree on have one home,
// installer-scripts/facts.tsv, which ships with the installer and is read by lib/facts.sh
// there and here; a unit test checks that both read the same values.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from './version.js';

export const FACTS_FILE = join(projectRoot, 'installer-scripts', 'facts.tsv');

/** KEY<TAB>VALUE lines; '#' starts a comment line. */
export function parseFacts(text: string): Map<string, string> {
  const facts = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const tab = line.indexOf('\t');
    if (tab < 1) throw new Error(`facts.tsv: want KEY<TAB>VALUE, got "${line}"`);
    facts.set(line.slice(0, tab), line.slice(tab + 1));
  }
  return facts;
}

const facts = parseFacts(readFileSync(FACTS_FILE, 'utf8'));

function fact(key: string): string {
  const v = facts.get(key);
  if (v === undefined || v === '') throw new Error(`facts.tsv: ${key} is missing`);
  return v;
}

function words(key: string): readonly [string, ...string[]] {
  const [first, ...rest] = fact(key).split(' ');
  return [first!, ...rest];
}

/** System accounts the installer must not create or modify. */
export const RESERVED_USERS: ReadonlySet<string> = new Set(words('reserved_users'));

/** Transports a disk rule may name (what the installer's disks.sh reports). */
export const DISK_TRANSPORTS = words('disk_transports');

export const DISK_MATCHES = ['any', 'all'] as const;
/** How disk rules combine when the answers leave disk.match unset. */
export const DISK_MATCH_DEFAULT = fact('disk_match_default') as (typeof DISK_MATCHES)[number];
if (!(DISK_MATCHES as readonly string[]).includes(DISK_MATCH_DEFAULT)) {
  throw new Error(`facts.tsv: disk_match_default must be any or all, not "${DISK_MATCH_DEFAULT}"`);
}

/** FAT label of `write --data-partition`'s partition, where the installer copies its log. */
export const LOG_PARTITION_LABEL = fact('log_partition_label');

/** Identity kinds a `nodes:` entry may match on (docs/fleet-media.md). */
export const NODE_MATCH_KINDS = words('node_match_kinds');
/** The kinds compared case-insensitively (hex identifiers: MAC addresses and SMBIOS UUIDs). */
export const NODE_MATCH_CASELESS: ReadonlySet<string> = new Set(words('node_match_caseless'));
/** Directory next to install.env with one <name>.env per node entry and the match table. */
export const NODE_DIR = fact('node_dir');
/** The match table's file name in NODE_DIR. */
export const NODE_MATCH_TABLE = fact('node_match_table');
/** NODE_DIR/<name><suffix>: an entry's cloud-init extras (only when it has extras). */
export const NODE_CLOUD_INIT_SUFFIX = fact('node_cloud_init_suffix');
