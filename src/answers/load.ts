// Why: turns an answers file (YAML or JSON) into validated Answers, reporting every problem at
// once as `path.to.key: message (line N)` so a user fixes the whole file in one go.
import { readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { answersSchema, type Answers } from './schema.js';
import { KNOWN_ELSEWHERE } from './legacy-keys.js';
import { checkK3sAnswers, checkPaths, checkRules, type AnswerPaths } from './rules.js';
import { checkNodes } from './fleet.js';

export interface LoadResult {
  /** Present only when there are no errors. */
  answers?: Answers;
  warnings: string[];
  errors: string[];
}

/** One flag that overrides a value of the file: `path` replaces whatever the file had there. */
export interface Override {
  path: readonly string[];
  value: unknown;
}

export interface LoadOptions {
  /** Values from command-line flags; paths among them must already be absolute. */
  overrides?: readonly Override[];
  /** Check that input files exist (default true). */
  checkFiles?: boolean;
  /** The output may be replaced (only changes a warning). */
  force?: boolean;
}

/** Edit distance counting a swap of two neighbours as one edit (typos like `nmae`). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number): number => d[i]?.[j] ?? 0;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, at(i - 2, j - 2) + 1);
      (d[i] as number[])[j] = v;
    }
  }
  return at(a.length, b.length);
}

/** The closest known key, when it is close enough to be a typo (or a snake_case spelling). */
export function didYouMean(key: string, known: readonly string[]): string | undefined {
  const norm = (s: string): string => s.toLowerCase().replace(/[_-]/g, '');
  let best: string | undefined;
  let bestDist = Infinity;
  for (const k of known) {
    const d = editDistance(norm(key), norm(k));
    if (d < bestDist) {
      best = k;
      bestDist = d;
    }
  }
  const limit = key.length <= 4 ? 1 : key.length <= 8 ? 2 : 3;
  return best !== undefined && bestDist <= limit ? best : undefined;
}

/** The object keys a schema accepts at a path (through defaults, optionals, arrays). */
export function keysAt(schema: z.core.$ZodType, path: readonly PropertyKey[]): string[] {
  let s: z.core.$ZodType | undefined = schema;
  const unwrap = (t: z.core.$ZodType): z.core.$ZodType => {
    let cur = t;
    for (;;) {
      const def = cur._zod.def as { type: string; innerType?: z.core.$ZodType; in?: z.core.$ZodType };
      if (def.innerType) cur = def.innerType;
      else if (def.type === 'pipe' && def.in) cur = def.in;
      else return cur;
    }
  };
  for (const p of path) {
    if (!s) return [];
    const def = unwrap(s)._zod.def as {
      type: string;
      shape?: Record<string, z.core.$ZodType>;
      element?: z.core.$ZodType;
    };
    if (def.type === 'object' && def.shape && typeof p === 'string') s = def.shape[p];
    else if (def.type === 'array' && typeof p === 'number') s = def.element;
    else return [];
  }
  if (!s) return [];
  const def = unwrap(s)._zod.def as { type: string; shape?: Record<string, unknown> };
  return def.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}

/** `a.b[0].c` */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out || '(top level)';
}

function lineOf(
  doc: Document | undefined,
  lc: LineCounter | undefined,
  path: readonly PropertyKey[],
  key?: string,
): string {
  if (!doc || !lc) return '';
  try {
    // a missing key has no node: point at the nearest ancestor that exists
    let at = [...path];
    while (at.length > 0 && !doc.hasIn(at)) at = at.slice(0, -1);
    if (at.length < path.length) key = undefined;
    let node: unknown = at.length === 0 ? doc.contents : doc.getIn(at, true);
    if (key !== undefined && isMap(node)) {
      node = node.items.find((it) => isScalar(it.key) && it.key.value === key)?.key;
    }
    const range = (node as { range?: [number, number, number] } | undefined)?.range;
    if (!range) return '';
    return ` (line ${lc.linePos(range[0]).line})`;
  } catch {
    return '';
  }
}

function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type': {
      const m = /received (\w+)/.exec(issue.message);
      if (m?.[1] === 'undefined') return 'is required';
      return `must be ${issue.expected === 'int' ? 'a whole number' : `a ${issue.expected}`}${m ? ` (got ${m[1]})` : ''}`;
    }
    case 'invalid_value':
      return `must be one of: ${issue.values.map((v) => (typeof v === 'string' ? v : String(v))).join(', ')}`;
    case 'too_small':
      if (issue.origin === 'array') return `needs at least ${String(issue.minimum)} item(s)`;
      if (issue.origin === 'string') return issue.minimum === 1 ? 'must not be empty' : issue.message;
      return `must be ${issue.inclusive === false ? 'more than' : 'at least'} ${String(issue.minimum)}`;
    case 'too_big':
      if (issue.origin === 'string') return `must be at most ${String(issue.maximum)} characters`;
      return `must be ${issue.inclusive === false ? 'less than' : 'at most'} ${String(issue.maximum)}`;
    default:
      return issue.message;
  }
}

/** Every schema issue as `path: message`, with unknown keys getting a suggestion. */
function schemaProblems(issues: readonly z.core.$ZodIssue[], doc?: Document, lc?: LineCounter): string[] {
  const out: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const known = keysAt(answersSchema, issue.path);
      for (const key of issue.keys) {
        const where = formatPath([...issue.path, key]);
        const elsewhere = KNOWN_ELSEWHERE[key.toLowerCase()];
        const guess = didYouMean(key, known);
        const msg = elsewhere
          ? `unknown key; ${elsewhere}`
          : guess
            ? `unknown key; did you mean \`${guess}\`?`
            : `unknown key; known keys here: ${known.join(', ')}`;
        out.push(`${where}: ${msg}${lineOf(doc, lc, issue.path, key)}`);
      }
      continue;
    }
    out.push(`${formatPath(issue.path)}: ${describeIssue(issue)}${lineOf(doc, lc, issue.path)}`);
  }
  return out;
}

function setIn(obj: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let cur: Record<string, unknown> = obj;
  path.forEach((key, i) => {
    if (i === path.length - 1) {
      cur[key] = value;
      return;
    }
    const next = cur[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) cur[key] = {};
    cur = cur[key] as Record<string, unknown>;
  });
}

/** The file paths named by (possibly invalid) answers, absolute; non-strings are left out. */
function pathsOf(raw: unknown, baseDir: string): AnswerPaths {
  const str = (...keys: string[]): string | undefined => {
    let cur: unknown = raw;
    for (const k of keys) cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[k] : undefined;
    return typeof cur === 'string' && cur !== '' ? cur : undefined;
  };
  const at = (...keys: string[]): string | undefined => {
    const p = str(...keys);
    return p === undefined ? undefined : resolve(baseDir, p);
  };
  return {
    archive: at('bootkit', 'archive'),
    kernel: at('bootkit', 'kernel'),
    initramfs: at('bootkit', 'initramfs'),
    osImage: at('osImage', 'path'),
    osImageSha256: str('osImage', 'sha256'),
    userAppsDir: at('userAppsDir'),
    output: at('output', 'path') ?? resolve(baseDir, 'make-iso.iso'),
  };
}

/** Makes every path in the answers absolute, relative ones against baseDir. */
export function resolvePaths(a: Answers, baseDir: string): Answers {
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(baseDir, p));
  const absOpt = (p: string | undefined): string | undefined => (p === undefined ? undefined : abs(p));
  return {
    ...a,
    bootkit: {
      ...a.bootkit,
      archive: absOpt(a.bootkit.archive),
      kernel: absOpt(a.bootkit.kernel),
      initramfs: absOpt(a.bootkit.initramfs),
    },
    osImage: { ...a.osImage, path: abs(a.osImage.path) },
    output: { ...a.output, path: abs(a.output.path) },
    userAppsDir: absOpt(a.userAppsDir),
    ...(a.packages ? { packages: a.packages.map(abs) } : {}),
  };
}

/**
 * Validates an already-parsed answers value: schema, then cross-field rules, then (optionally)
 * the files it names. `baseDir` resolves relative paths.
 */
export async function validateAnswers(
  raw: unknown,
  baseDir: string,
  opts: LoadOptions & { doc?: Document; lineCounter?: LineCounter } = {},
): Promise<LoadResult> {
  const data: unknown = raw === null || raw === undefined ? {} : raw;
  if (typeof data !== 'object' || Array.isArray(data)) {
    return { errors: ['(top level): must be a mapping of keys to values'], warnings: [] };
  }
  const copy = structuredClone(data) as Record<string, unknown>;
  for (const o of opts.overrides ?? []) setIn(copy, o.path, o.value);

  const parsed = answersSchema.safeParse(copy);
  if (!parsed.success) {
    const errors = schemaProblems(parsed.error.issues, opts.doc, opts.lineCounter);
    if (opts.checkFiles !== false) errors.push(...(await checkPaths(pathsOf(copy, baseDir), opts)).errors);
    return { errors, warnings: [] };
  }
  const answers = resolvePaths(parsed.data, baseDir);
  const rules = checkRules(answers);
  const files =
    opts.checkFiles === false ? { errors: [], warnings: [] } : await checkPaths(pathsOf(answers, baseDir), opts);
  // each node entry's merged answers are checked only once the base itself is valid
  const nodeErrors = rules.errors.length === 0 ? checkNodes(answers) : [];
  const errors = [...rules.errors, ...nodeErrors, ...files.errors];
  const warnings = [...rules.warnings, ...files.warnings];
  if (opts.checkFiles !== false) {
    const k3s = await checkK3sAnswers(answers, copy.hostType === 'kubernetes');
    errors.push(...k3s.errors);
    warnings.push(...k3s.warnings);
  }
  return errors.length ? { errors, warnings } : { answers, errors, warnings };
}

/** Answers files are small: anything bigger is a mistake (or an attack on the parser). */
export const MAX_ANSWERS_BYTES = 1024 * 1024;
/** Deepest nesting of maps and lists an answers file needs is about 4; 16 is generous. */
export const MAX_ANSWERS_DEPTH = 16;
/** YAML aliases allowed in one file (a "billion laughs" file expands a few into millions). */
export const MAX_ANSWERS_ALIASES = 50;

function depthOf(v: unknown, limit: number, depth = 0): number {
  if (depth > limit || v === null || typeof v !== 'object') return depth;
  let max = depth + 1;
  for (const child of Object.values(v as Record<string, unknown>)) {
    max = Math.max(max, depthOf(child, limit, depth + 1));
    if (max > limit) break;
  }
  return max;
}

/** Parses YAML (or JSON, which is YAML) text and validates it. */
export async function parseAnswers(text: string, baseDir: string, opts: LoadOptions = {}): Promise<LoadResult> {
  const lineCounter = new LineCounter();
  let doc: Document;
  let value: unknown;
  try {
    doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
    value = doc.errors.length > 0 ? undefined : doc.toJS({ maxAliasCount: MAX_ANSWERS_ALIASES });
  } catch (err) {
    const why = err instanceof RangeError ? 'nested too deeply' : (err as Error).message.split('\n')[0];
    return { errors: [`(syntax) the file cannot be parsed safely: ${why}`], warnings: [] };
  }
  if (doc.errors.length === 0 && depthOf(value, MAX_ANSWERS_DEPTH) > MAX_ANSWERS_DEPTH) {
    return { errors: [`(syntax) maps and lists are nested deeper than ${MAX_ANSWERS_DEPTH} levels`], warnings: [] };
  }
  if (doc.errors.length > 0) {
    return {
      errors: doc.errors.map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        return `(syntax) line ${pos.line}, column ${pos.col}: ${e.message.split('\n')[0] ?? e.message}`;
      }),
      warnings: [],
    };
  }
  return validateAnswers(value, baseDir, { ...opts, doc, lineCounter });
}

/** Reads and validates an answers file; relative paths in it resolve against its directory. */
export async function loadAnswers(file: string, opts: LoadOptions = {}): Promise<LoadResult> {
  let text: string;
  try {
    // stat first: reading a FIFO or a device would block or never end
    const s = await stat(file);
    if (!s.isFile()) return { errors: [`${file}: is not a regular file`], warnings: [] };
    if (s.size > MAX_ANSWERS_BYTES) {
      return { errors: [`${file}: is ${s.size} bytes; an answers file is at most 1 MiB`], warnings: [] };
    }
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return {
      errors: [`${file}: ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? String(err)})`}`],
      warnings: [],
    };
  }
  const result = await parseAnswers(text, dirname(resolve(file)), opts);
  if (result.answers?.user.passwordHash) {
    const mode = (await stat(file).catch(() => undefined))?.mode ?? 0;
    if (mode & 0o077) {
      result.warnings.push(
        `${file}: holds a password hash and is readable by others (mode ${(mode & 0o777).toString(8)}); run: chmod 600 ${file}`,
      );
    }
  }
  return result;
}
