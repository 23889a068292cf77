// Why: the rewrite mode's tar stage: untouched entries pass through byte for byte, some are
// dropped (enablement links of masked units, files we replace), new ones go before the end.
import { ByteReader } from '../io/byte-reader.js';
import { type NormalizedChange, parentDirs } from './change.js';
import { readTar, tarEndBlocks, tarEntry, type TarEntry, type TarNewEntry } from './tar.js';

export interface TarEdit {
  /** Return false to drop the entry. Called for every entry, in archive order. */
  keep(entry: TarEntry): boolean;
  /** Entries to append before the end-of-archive blocks; called once, after the last entry. */
  append(): TarNewEntry[];
}

/** Rewrites a tar stream: kept entries byte for byte, appended entries, then the original end. */
export async function* transformTar(source: AsyncIterable<Uint8Array>, edit: TarEdit): AsyncGenerator<Buffer> {
  const reader = new ByteReader(source);
  let appended = 0;
  const appendAll = function* () {
    for (const e of edit.append()) {
      appended++;
      yield tarEntry(e);
    }
  };
  for await (const r of readTar(reader)) {
    if (r.kind === 'global') {
      yield r.raw;
    } else if (r.kind === 'entry') {
      if (edit.keep(r)) yield* r.raw();
    } else {
      yield* appendAll();
      let tail = 0;
      for await (const c of r.raw()) {
        tail += c.length;
        yield c;
      }
      // GNU tar warns about a lone zero block; make sure two follow what we added.
      if (appended > 0 && tail < 1024) yield Buffer.alloc(1024 - tail);
      return;
    }
  }
  // An archive without end blocks: add ours.
  yield* appendAll();
  if (appended > 0) yield tarEndBlocks();
}

/** "./etc/x/" -> "etc/x": the key under which tar paths are compared. */
export function tarPathKey(p: string): string {
  return p.replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '');
}

export interface RootfsEditReport {
  /** `*.wants` / `*.requires` links removed, as stored in the archive. */
  removedLinks: string[];
  /** Entries replaced by an added file, symlink or mask link (regular files stay in the
   * archive, ahead of their replacement, because hard links may point at them). */
  replaced: string[];
  /** Directories created for added files. */
  createdDirs: string[];
  /** Entries seen in the input archive. */
  entries: number;
}

const WANTS = /^etc\/systemd\/system\/[^/]+\.(wants|requires)\/([^/]+)$/;

/**
 * The tar edit for a RootfsChange: drops enablement links of masked units and entries the
 * change replaces; appends the files, mask links (-> /dev/null) and missing parent dirs,
 * sorted by path, with the archive's own "./" style. Directories that already exist, and
 * anything below an existing symlink (usr-merge: lib -> usr/lib), are never re-created.
 */
export function rootfsTarEdit(change: NormalizedChange, mtime: number): TarEdit & { report: RootfsEditReport } {
  const masked = new Set(change.mask);
  const added = new Map(change.files.map((f) => [f.path, f]));
  const maskLinks = new Set(change.mask.map((u) => `etc/systemd/system/${u}`));
  const existing = new Map<string, TarEntry['type']>();
  const report: RootfsEditReport = { removedLinks: [], replaced: [], createdDirs: [], entries: 0 };
  let dotSlash: boolean | undefined;
  return {
    report,
    keep(e) {
      report.entries++;
      dotSlash ??= e.path.startsWith('./');
      const key = tarPathKey(e.path);
      existing.set(key, e.type);
      const m = WANTS.exec(key);
      if (m && masked.has(m[2]!)) {
        report.removedLinks.push(e.path);
        return false;
      }
      const a = added.get(key);
      if (maskLinks.has(key) || (a && a.type !== 'dir')) {
        report.replaced.push(e.path);
        // A regular file may be the target of hard links further on: keep it, and let the
        // appended entry replace it on extraction (later entries win). Drop anything else.
        return e.type === 'file';
      }
      return true;
    },
    append() {
      const out: TarNewEntry[] = [];
      const isUnderSymlink = (p: string): boolean => parentDirs(p).some((d) => existing.get(d) === 'symlink');
      const dirs = new Set<string>();
      const need = (p: string): void => {
        for (const d of parentDirs(p)) {
          if (!existing.has(d) && !added.has(d) && !isUnderSymlink(d)) dirs.add(d);
        }
      };
      for (const f of change.files) {
        need(f.path);
        if (f.type === 'dir') {
          if (!existing.has(f.path)) out.push({ path: f.path, type: 'dir', mode: f.mode, mtime });
        } else if (f.type === 'symlink') {
          out.push({ path: f.path, type: 'symlink', linkpath: f.linkpath, mtime });
        } else {
          out.push({ path: f.path, type: 'file', mode: f.mode, content: f.content, mtime });
        }
      }
      for (const l of maskLinks) {
        need(l);
        out.push({ path: l, type: 'symlink', linkpath: '/dev/null', mtime });
      }
      for (const d of dirs) {
        report.createdDirs.push(d);
        out.push({ path: d, type: 'dir', mode: 0o755, mtime });
      }
      const prefix = dotSlash ? './' : '';
      return out
        .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
        .map((e) => ({ ...e, path: e.type === 'dir' ? `${prefix}${e.path}/` : `${prefix}${e.path}` }));
    },
  };
}
