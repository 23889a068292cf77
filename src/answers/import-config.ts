// Why: `make-iso import-config` moves users of the older shell tooling over. Their `config-file`
// is shell-style `key="value"` lines followed, after a comment line holding "Custom cloud-init
// Config file", by a YAML part (`services`, `write_files`, `runcmd`); upstream's orch-cli reads it
// the same way (dotenv part up to that marker, YAML from it). The file is parsed, never run: a
// value is text, a `huge_page_config` expression is evaluated here by a small integer calculator.
import { isIP } from 'node:net';
import { isMap, isScalar, isSeq, parseDocument, stringify, type Node } from 'yaml';
import { KNOWN_ELSEWHERE } from './legacy-keys.js';
import { validateAnswers } from './load.js';
import { ANSWERS_HEADER } from './template.js';
import { checkField, hostOrIp, noProxyList, proxyUrl, sshKey, unitName, userName } from './schema.js';

/** Upstream's marker: the line that starts the YAML (cloud-init) part of the config-file. */
export const CLOUD_INIT_MARKER = 'Custom cloud-init Config file';

/** One `key=value` of the shell part, with its 1-based line. */
export interface ConfigEntry {
  key: string;
  value: string;
  line: number;
}

export interface ParsedConfig {
  entries: ConfigEntry[];
  /** The YAML part (from the marker line on), or '' when the file has none. */
  yaml: string;
  /** 1-based line where the YAML part starts. */
  yamlLine: number;
  /** Lines that are neither comments nor `key=value`, as notes. */
  notes: string[];
}

/** A value as the shell would read it: one quoted word, or bare text up to a ` #` comment. */
function unquote(raw: string): string | undefined {
  const v = raw.trim();
  if (v.startsWith('"')) {
    let out = '';
    for (let i = 1; i < v.length; i++) {
      const c = v[i];
      if (c === '\\' && i + 1 < v.length && '"\\$`'.includes(v[i + 1] ?? '')) {
        out += v[++i];
      } else if (c === '"') {
        return out;
      } else {
        out += c;
      }
    }
    return undefined;
  }
  if (v.startsWith("'")) {
    const end = v.indexOf("'", 1);
    return end < 0 ? undefined : v.slice(1, end);
  }
  return v.replace(/\s+#.*$/, '').trim();
}

/** Splits a config-file into its `key=value` entries and its YAML part. Runs nothing. */
export function parseConfigFile(text: string): ParsedConfig {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  const entries: ConfigEntry[] = [];
  const notes: string[] = [];
  let yamlStart = lines.findIndex((l) => l.includes(CLOUD_INIT_MARKER));
  // without the marker, a top-level cloud-init key starts the YAML part
  if (yamlStart < 0) yamlStart = lines.findIndex((l) => /^(services|write_files|runcmd):/.test(l));
  const shellEnd = yamlStart < 0 ? lines.length : yamlStart;
  for (let i = 0; i < shellEnd; i++) {
    const line = lines[i] ?? '';
    if (/^\s*(#|$)/.test(line)) continue;
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) {
      notes.push(`line ${i + 1}: not a key=value line; skipped`);
      continue;
    }
    const value = unquote(m[2] ?? '');
    if (value === undefined) {
      notes.push(`${m[1]} (line ${i + 1}): the quote is not closed on this line; skipped`);
      continue;
    }
    entries.push({ key: m[1] ?? '', value, line: i + 1 });
  }
  return {
    entries,
    yaml: yamlStart < 0 ? '' : lines.slice(yamlStart).join('\n'),
    yamlLine: yamlStart + 1,
    notes,
  };
}

// ---- huge_page_config: upstream runs `echo $(( huge_page_config ))` ----

/**
 * Evaluates a bash arithmetic expression of integers (decimal, 0x hex, 0 octal as bash reads
 * them) with + - * / % ** and parentheses, the way `$(( ))` does (division truncates).
 * Throws an Error with the reason for anything else (shell variables included).
 */
export function evalShellArithmetic(expr: string): number {
  const tokens = expr.match(/\s+|0[xX][0-9A-Fa-f]+|[0-9]+|\*\*|[-+*/%()]|[A-Za-z_][A-Za-z0-9_]*|./g) ?? [];
  const toks = tokens.filter((t) => !/^\s+$/.test(t));
  let pos = 0;
  const peek = (): string | undefined => toks[pos];
  const check = (n: number): number => {
    if (!Number.isSafeInteger(n)) throw new Error('the number is too large');
    return n;
  };
  const unary = (): number => {
    const t = toks[pos++];
    if (t === undefined) throw new Error('it ends too early');
    if (t === '(') {
      const v = sum();
      if (toks[pos++] !== ')') throw new Error('a parenthesis is not closed');
      return v;
    }
    if (t === '-') return check(-unary());
    if (t === '+') return unary();
    if (/^0[xX]/.test(t)) return check(parseInt(t.slice(2), 16));
    if (/^0[0-7]+$/.test(t)) return check(parseInt(t, 8));
    if (/^0[0-9]+$/.test(t)) throw new Error(`${t} is not an octal number (bash reads a leading 0 as octal)`);
    if (/^[0-9]+$/.test(t)) return check(Number(t));
    if (/^[A-Za-z_]/.test(t)) throw new Error(`it names the shell variable ${t}; give a number`);
    throw new Error(`"${t}" is not supported (only integers, + - * / % ** and parentheses)`);
  };
  const power = (): number => {
    const base = unary();
    if (peek() === '**') {
      pos++;
      const exp = power();
      if (exp < 0) throw new Error('a negative exponent');
      return check(base ** exp);
    }
    return base;
  };
  const product = (): number => {
    let v = power();
    for (let op = peek(); op === '*' || op === '/' || op === '%'; op = peek()) {
      pos++;
      const r = power();
      if (op !== '*' && r === 0) throw new Error('division by zero');
      v = check(op === '*' ? v * r : op === '/' ? Math.trunc(v / r) : v % r);
    }
    return v;
  };
  const sum = (): number => {
    let v = product();
    for (let op = peek(); op === '+' || op === '-'; op = peek()) {
      pos++;
      const r = product();
      v = check(op === '+' ? v + r : v - r);
    }
    return v;
  };
  if (toks.length === 0) throw new Error('it is empty');
  const v = sum();
  if (pos < toks.length) throw new Error(`unexpected "${toks[pos] ?? ''}"`);
  return v === 0 ? 0 : v; // no -0
}

// ---- the conversion ----

export interface ImportResult {
  /** The answers the config-file gives (without bootkit / osImage, which it does not name). */
  answers: Record<string, unknown>;
  /** One line per key (or item) not carried over, and why. */
  notes: string[];
  /** Config-file keys carried over into the answers. */
  carried: string[];
}

/** Keys of the shell part that make-iso has no home for, and why. */
const NO_HOME: Record<string, string> = {
  reporting_group_id: 'make-iso does not set up edge data collection (/etc/edge-node/metrics)',
  reporting_endpoint: 'make-iso does not set up edge data collection (/etc/edge-node/metrics)',
  reporting_token: 'make-iso does not set up edge data collection (/etc/edge-node/metrics)',
  reporting_disabled: 'make-iso does not set up edge data collection (/etc/edge-node/metrics)',
  deploy_envmt: 'make-iso installs the same way on VMs and real hardware; nothing to set',
};

const PLAIN_PASSWORD =
  'a plain-text password is never copied; run `make-iso hash-password` and put the hash in user.passwordHash (or pass --password-hash)';

/** 255.255.255.0 -> 24; "24" -> 24; anything else: undefined. */
export function prefixOf(mask: string): number | undefined {
  if (/^[0-9]{1,3}$/.test(mask)) {
    const n = Number(mask);
    return n <= 128 ? n : undefined;
  }
  if (isIP(mask) !== 4) return undefined;
  const bits = mask
    .split('.')
    .map((o) => Number(o).toString(2).padStart(8, '0'))
    .join('');
  return /^1*0*$/.test(bits) ? (bits.indexOf('0') < 0 ? 32 : bits.indexOf('0')) : undefined;
}

function listOf(value: string): string[] {
  return value
    .split(/[,\s]+/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** The plain JS value of a YAML node; scalars stay text (as upstream's Go structs read them). */
function plain(node: unknown): unknown {
  if (node === null || node === undefined) return '';
  if (isScalar(node)) return node.value === null || node.value === undefined ? '' : String(node.value);
  if (isSeq(node)) return node.items.map(plain);
  if (isMap(node)) {
    const out = Object.create(null) as Record<string, unknown>; // a `__proto__` key stays a key
    for (const it of node.items) out[String(plain(it.key))] = plain(it.value);
    return out;
  }
  throw new Error('YAML aliases (*name) and tags are not supported; write the values out');
}

function lineAt(text: string, node: unknown, base: number): string {
  const r = (node as Node | undefined)?.range;
  if (!r) return '';
  return ` (line ${base + text.slice(0, r[0]).split('\n').length - 1})`;
}

/** Converts a parsed config-file into answers values; everything left behind becomes a note. */
export function convertConfig(parsed: ParsedConfig): ImportResult {
  const notes = [...parsed.notes];
  const carried: string[] = [];
  const byKey = new Map<string, ConfigEntry>();
  for (const e of parsed.entries) {
    const before = byKey.get(e.key);
    if (before) notes.push(`${e.key} (line ${before.line}): set again on line ${e.line}; the last one is used`);
    byKey.set(e.key, e);
  }
  const used = new Set<string>();
  const get = (key: string): ConfigEntry | undefined => {
    used.add(key);
    const e = byKey.get(key);
    return e && e.value !== '' ? e : undefined;
  };
  const where = (e: ConfigEntry): string => `${e.key} (line ${e.line})`;
  const skip = (e: ConfigEntry, why: string): void => {
    notes.push(`${where(e)}: not carried over: ${why}`);
  };
  const ok = (e: ConfigEntry): void => {
    carried.push(e.key);
  };

  const user: Record<string, unknown> = {};
  const answers: Record<string, unknown> = { user };

  const name = get('user_name');
  if (name) {
    const r = checkField(userName, name.value);
    if (r === true) {
      user.name = name.value;
      ok(name);
    } else skip(name, r);
  }
  const key = get('ssh_key');
  if (key) {
    const r = checkField(sshKey, key.value);
    if (r === true) {
      user.sshKeys = [key.value];
      ok(key);
    } else skip(key, `it ${r}`);
  }
  for (const k of ['passwd', 'password']) {
    const e = get(k);
    if (e) skip(e, PLAIN_PASSWORD);
  }

  // proxy: the lower-case name wins, as upstream writes both and tools read either
  const proxy: Record<string, string> = {};
  const proxyPair = (lower: string, upper: string, to: 'http' | 'https' | 'noProxy'): void => {
    const lo = get(lower);
    const up = get(upper);
    const first = lo ?? up;
    if (!first) return;
    if (lo && up && lo.value !== up.value) {
      skip(up, `it differs from ${lower} (line ${lo.line}); make-iso sets both from one value, ${lower}'s`);
    }
    const r = checkField(to === 'noProxy' ? noProxyList : proxyUrl, first.value);
    if (r !== true) {
      skip(first, r);
      return;
    }
    proxy[to] = first.value;
    ok(first);
    if (lo && up && lo.value === up.value) ok(up);
  };
  proxyPair('http_proxy', 'HTTP_PROXY', 'http');
  proxyPair('https_proxy', 'HTTPS_PROXY', 'https');
  proxyPair('no_proxy', 'NO_PROXY', 'noProxy');
  if (Object.keys(proxy).length > 0) answers.proxy = proxy;

  const host = get('host_type');
  if (host) {
    if (host.value === 'kubernetes' || host.value === 'container') {
      answers.hostType = host.value;
      ok(host);
    } else skip(host, 'it must be kubernetes or container');
  }

  // network: upstream tried DHCP first and used the static address only without a lease
  const network: Record<string, unknown> = {};
  const ip = get('static_ip');
  const mask = get('subnet_mask');
  const gw = get('default_gate_way') ?? get('default_gateway');
  const dns = get('dns_name_server');
  if (ip || mask || gw) {
    const problems: string[] = [];
    if (!ip) problems.push('static_ip is missing');
    else if (isIP(ip.value) === 0) problems.push(`static_ip ${ip.value} is not an IP address`);
    const prefix = mask ? prefixOf(mask.value) : undefined;
    if (!mask) problems.push('subnet_mask is missing');
    else if (prefix === undefined) problems.push(`subnet_mask ${mask.value} is neither a prefix length nor a netmask`);
    if (!gw) problems.push('default_gate_way is missing');
    else if (isIP(gw.value) === 0) problems.push(`default_gate_way ${gw.value} is not an IP address`);
    const first = (ip ?? mask ?? gw) as ConfigEntry;
    if (problems.length > 0) {
      skip(
        first,
        `a static address needs all three of static_ip, subnet_mask, default_gate_way: ${problems.join('; ')}; the node keeps DHCP`,
      );
    } else if (ip && mask && gw) {
      Object.assign(network, { mode: 'static', address: ip.value, prefix, gateway: gw.value });
      ok(ip);
      ok(mask);
      ok(gw);
      notes.push(
        `${where(ip)}: carried over as network.mode static: upstream used it only when DHCP gave no address, make-iso always uses it`,
      );
    }
  }
  if (dns) {
    const servers = listOf(dns.value);
    const bad = servers.filter((s) => isIP(s) === 0);
    if (bad.length > 0)
      skip(dns, `${bad.join(', ')} ${bad.length === 1 ? 'is not an IP address' : 'are not IP addresses'}`);
    else {
      network.dns = servers;
      ok(dns);
    }
  }
  if (Object.keys(network).length > 0) answers.network = network;

  const lvm = get('lvm_size_ingb');
  if (lvm) {
    if (/^[0-9]+$/.test(lvm.value)) {
      answers.lvm = { sizeGiB: Number(lvm.value) };
      ok(lvm);
    } else skip(lvm, 'it must be a whole number of GiB');
  }

  const huge = get('huge_page_config');
  if (huge) {
    try {
      const pages = evalShellArithmetic(huge.value);
      if (pages < 0 || pages > 1_048_576) skip(huge, `it gives ${pages} pages; make-iso takes 0 to 1048576 (2 TiB)`);
      else {
        answers.hugepages = pages;
        ok(huge);
      }
    } catch (err) {
      skip(huge, `the expression cannot be computed: ${(err as Error).message}`);
    }
  }

  const ntp = get('USER_CUSTOM_NTP_SERVERS');
  if (ntp) {
    const servers = listOf(ntp.value);
    const bad = servers.filter((s) => checkField(hostOrIp, s) !== true);
    if (bad.length > 0) skip(ntp, `${bad.join(', ')}: not a host name or IP address`);
    else {
      answers.ntp = { servers };
      ok(ntp);
    }
  }

  for (const e of byKey.values()) {
    if (used.has(e.key) || e.value === '') continue;
    const why = NO_HOME[e.key] ?? KNOWN_ELSEWHERE[e.key.toLowerCase()];
    skip(e, why ? why : 'make-iso does not know this key');
  }

  if (parsed.yaml !== '') convertCloudInit(parsed, answers, notes, carried);
  return { answers, notes, carried };
}

function convertCloudInit(
  parsed: ParsedConfig,
  answers: Record<string, unknown>,
  notes: string[],
  carried: string[],
): void {
  const base = parsed.yamlLine;
  // failsafe: every scalar stays text (`permissions: 0644` is the string "0644", as in Go's yaml)
  const doc = parseDocument(parsed.yaml, { uniqueKeys: true, schema: 'failsafe' });
  if (doc.errors.length > 0) {
    notes.push(
      `cloud-init part (line ${base}): not YAML (${doc.errors[0]?.message.split('\n')[0] ?? ''}); none of it carried over`,
    );
    return;
  }
  const root = doc.contents;
  if (root === null) return;
  if (!isMap(root)) {
    notes.push(`cloud-init part (line ${base}): not a mapping of keys; none of it carried over`);
    return;
  }
  try {
    // aliases: refuse the part before using any of it
    root.items.forEach((it) => [plain(it.key), plain(it.value)]);
  } catch (err) {
    notes.push(`cloud-init part (line ${base}): ${(err as Error).message}; none of it carried over`);
    return;
  }
  const cloudInit: Record<string, unknown> = {};
  for (const item of root.items) {
    const k = String(plain(item.key));
    const at = `${k}${lineAt(parsed.yaml, item.key, base)}`;
    const v: unknown = item.value;
    if (k === 'services') {
      const s = plain(v);
      const services: Record<string, string[]> = {};
      if (s && typeof s === 'object' && !Array.isArray(s)) {
        for (const [which, list] of Object.entries(s as Record<string, unknown>)) {
          if (which !== 'enable' && which !== 'disable') {
            notes.push(`${at}: services.${which} not carried over: only enable and disable exist`);
            continue;
          }
          const units = Array.isArray(list) ? list.map(String) : [];
          const bad = units.filter((u) => checkField(unitName, u) !== true);
          for (const u of bad) notes.push(`${at}: ${which} "${u}" not carried over: not a systemd unit name`);
          const good = units.filter((u) => !bad.includes(u));
          if (good.length > 0) services[which] = good;
        }
      } else if (s !== '') notes.push(`${at}: not carried over: must be a mapping with enable and disable lists`);
      if (Object.keys(services).length > 0) {
        cloudInit.services = services;
        carried.push('services');
      }
    } else if (k === 'write_files') {
      const files = isSeq(v) ? v.items : [];
      if (!isSeq(v) && plain(v) !== '') notes.push(`${at}: not carried over: must be a list of files`);
      const out: Record<string, unknown>[] = [];
      files.forEach((f, i) => {
        const fat = `write_files[${i}]${lineAt(parsed.yaml, f, base)}`;
        const p = plain(f);
        if (!p || typeof p !== 'object' || Array.isArray(p)) {
          notes.push(`${fat}: not carried over: must be a mapping with path and content`);
          return;
        }
        const src = p as Record<string, string>;
        if (!src.path?.startsWith('/')) {
          notes.push(`${fat}: not carried over: path must be an absolute path`);
          return;
        }
        const encoding = (src.encoding ?? 'text/plain').toLowerCase();
        if (!['text/plain', 'b64', 'base64'].includes(encoding)) {
          notes.push(
            `${fat}: not carried over: encoding ${encoding} (make-iso writes text; decompress it into content)`,
          );
          return;
        }
        const file: Record<string, unknown> = { path: src.path };
        for (const [fk, fv] of Object.entries(src)) {
          if (fk === 'path' || fk === 'encoding') continue;
          if (fk === 'content')
            file.content = encoding === 'text/plain' ? fv : Buffer.from(fv, 'base64').toString('utf8');
          else if (fk === 'permissions') file.permissions = fv;
          else if (fk === 'owner') file.owner = fv;
          else if (fk === 'append') {
            if (fv === 'true' || fv === 'false') file.append = fv === 'true';
            else notes.push(`${fat}: append "${fv}" not carried over: must be true or false`);
          } else
            notes.push(
              `${fat}: ${fk} not carried over: make-iso writes path, permissions, owner, append and content only`,
            );
        }
        out.push(file);
      });
      if (out.length > 0) {
        cloudInit.writeFiles = out;
        carried.push('write_files');
      }
    } else if (k === 'runcmd') {
      const cmds = plain(v);
      if (Array.isArray(cmds)) {
        const list = cmds.map((c) => (Array.isArray(c) ? c.map(String) : String(c)));
        if (list.length > 0) {
          cloudInit.runcmd = list;
          carried.push('runcmd');
        }
      } else if (cmds !== '') notes.push(`${at}: not carried over: must be a list of commands`);
    } else {
      notes.push(`${at}: not carried over: make-iso's cloud-init extras are services, write_files and runcmd only`);
    }
  }
  if (Object.keys(cloudInit).length > 0) answers.cloudInit = cloudInit;
}

// ---- the answers file ----

/** Placeholders for the inputs a config-file never names (as in `make-iso init`'s template). */
export const PLACEHOLDER_BOOTKIT = './emb_uos_x86_64_YYYYMMDD.tar.gz';
export const PLACEHOLDER_OS_IMAGE = './edge-readonly.raw.gz';

export interface ImportOptions {
  /** Shown in the header: the config-file the answers come from. */
  source: string;
  /** The yaml-language-server line (see json-schema.ts). */
  modeline: string;
  /** Directory of the answers file (relative paths resolve against it). */
  baseDir: string;
  bootkit?: string | undefined;
  osImage?: string | undefined;
  passwordHash?: string | undefined;
}

export interface ImportedAnswers {
  /** The answers file text; present only when it validates. */
  text?: string;
  notes: string[];
  carried: string[];
  /** Why the answers would not validate (nothing may be written then). */
  errors: string[];
  warnings: string[];
}

/** Converts config-file text into a validated answers file text, or the reasons it cannot be one. */
export async function importConfigText(configText: string, opts: ImportOptions): Promise<ImportedAnswers> {
  const { answers, notes, carried } = convertConfig(parseConfigFile(configText));
  const user = answers.user as Record<string, unknown>;
  if (opts.passwordHash !== undefined) user.passwordHash = opts.passwordHash;
  const ordered: Record<string, unknown> = {
    bootkit: { archive: opts.bootkit ?? PLACEHOLDER_BOOTKIT },
    osImage: { path: opts.osImage ?? PLACEHOLDER_OS_IMAGE },
    ...answers,
  };
  if (opts.bootkit === undefined)
    notes.push(`bootkit.archive: not in a config-file; ${PLACEHOLDER_BOOTKIT} written, edit it (or pass --bootkit)`);
  if (opts.osImage === undefined)
    notes.push(`osImage.path: not in a config-file; ${PLACEHOLDER_OS_IMAGE} written, edit it (or pass --os-image)`);
  const r = await validateAnswers(ordered, opts.baseDir, { checkFiles: false });
  const errors = r.errors.map((e) =>
    e.startsWith('user.name: is required')
      ? `${e}: the config-file has no usable user_name`
      : e.startsWith('user: give user.passwordHash')
        ? `${e} (the config-file has no usable ssh_key: pass --password-hash from \`make-iso hash-password\`)`
        : e,
  );
  if (errors.length > 0) return { notes, carried, errors, warnings: r.warnings };
  const header = `${opts.modeline}\n${ANSWERS_HEADER}\n# Imported by make-iso import-config from ${opts.source.replace(/[\r\n]/g, '?')}.\n`;
  return { text: `${header}${stringify(ordered, { lineWidth: 0 })}`, notes, carried, errors, warnings: r.warnings };
}
