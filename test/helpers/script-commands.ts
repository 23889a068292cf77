// Why: the requirements parity test needs the external commands the installer scripts call.
// A small bash lexer: quoted text is blanked (but $(...) inside double quotes stays code),
// comments are dropped, then the first word of every simple command is taken (after
// assignments, `run`/`command -v`/`exec`-style wrappers and case patterns).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const KEYWORDS = new Set(
  (
    'if then else elif fi case esac for while until do done in function select time coproc ' + '! [[ ]] { } ( ) (( ))'
  ).split(' '),
);
/** bash builtins: not external tools. */
export const BASH_BUILTINS = new Set(
  (
    'alias bg bind break builtin caller cd command compgen complete compopt continue declare dirs disown echo ' +
    'enable eval exec exit export false fc fg getopts hash help history jobs kill let local logout mapfile ' +
    'popd printf pushd pwd read readarray readonly return set shift shopt source suspend test times trap true ' +
    'type typeset ulimit umask unalias unset wait . : ['
  ).split(' '),
);
/** Wrappers whose next non-option word is the command they run. */
const WRAPPERS = new Set(['run', 'command', 'exec', 'timeout', 'nice', 'ionice', 'xargs', 'env', 'nohup', 'setsid']);

/** The script text with quoted literals, comments and here-strings' words blanked out. */
export function codeOnly(src: string): string {
  let out = '';
  const stack: Array<'dq' | 'sub'> = [];
  let i = 0;
  const top = () => stack[stack.length - 1];
  while (i < src.length) {
    const c = src[i]!;
    const inDq = top() === 'dq';
    if (inDq) {
      if (c === '\\') {
        out += '  ';
        i += 2;
      } else if (c === '"') {
        stack.pop();
        out += '"';
        i++;
      } else if (c === '$' && src[i + 1] === '(' && src[i + 2] !== '(') {
        stack.push('sub');
        out += '$(';
        i += 2;
      } else {
        out += c === '\n' ? '\n' : ' ';
        i++;
      }
      continue;
    }
    if (c === '\\') {
      out += '  ';
      i += 2;
    } else if (c === "'") {
      const end = src.indexOf("'", i + 1);
      const body = src.slice(i + 1, end < 0 ? src.length : end);
      out += `'${body.replace(/[^\n]/g, ' ')}'`;
      i = end < 0 ? src.length : end + 1;
    } else if (c === '"') {
      stack.push('dq');
      out += '"';
      i++;
    } else if (c === '#' && (i === 0 || /[\s;(|&]/.test(src[i - 1]!))) {
      while (i < src.length && src[i] !== '\n') i++;
    } else if (c === '$' && src[i + 1] === '(' && src[i + 2] !== '(') {
      stack.push('sub');
      out += '$(';
      i += 2;
    } else if (c === '$' && src[i + 1] === '{') {
      // ${...}: parameter expansion, never a command
      let depth = 0;
      let j = i + 1;
      for (; j < src.length; j++) {
        if (src[j] === '{') depth++;
        else if (src[j] === '}' && --depth === 0) break;
      }
      out += ' '.repeat(j + 1 - i);
      i = j + 1;
    } else if (c === '(' && top() === 'sub') {
      stack.push('sub');
      out += c;
      i++;
    } else if (c === ')' && top() === 'sub') {
      stack.pop();
      out += ' ';
      i++;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** External commands a bash script runs, with the 1-based lines where each appears. */
export function scriptCommands(src: string): Map<string, number[]> {
  const code = codeOnly(src);
  const functions = new Set([...src.matchAll(/^\s*([A-Za-z_][\w-]*)\s*\(\)\s*\{/gm)].map((m) => m[1]!));
  const found = new Map<string, number[]>();
  code.split('\n').forEach((line, n) => {
    // here-strings feed data, and arithmetic holds no commands
    const clean = line
      .replace(/<<<\s*\S+/g, ' ')
      .replace(/\(\((.*?)\)\)/g, ' ')
      .replace(/\[\[.*?\]\]/g, ' ')
      .replace(/^\s*[^()=$]+\)(\s|$)/, ' '); // a case arm's patterns
    for (const seg of clean.split(/\|\||&&|[;|&`]|\$\(|\(|\{|\bthen\b|\bdo\b|\belse\b|\bif\b|\bwhile\b|\buntil\b|!/)) {
      const words = seg.trim().split(/\s+/).filter(Boolean);
      let k = 0;
      // case arm patterns, assignments and redirections before the command
      while (
        k < words.length &&
        (/^[^=]*\)$/.test(words[k]!) || /^[A-Za-z_]\w*(\[[^\]]*\])?\+?=/.test(words[k]!) || /^\d*[<>]/.test(words[k]!))
      )
        k++;
      while (k < words.length && WRAPPERS.has(words[k]!)) {
        k++;
        while (k < words.length && (words[k]!.startsWith('-') || /^\d+[smhd]?$/.test(words[k]!))) k++;
      }
      const w = words[k];
      if (!w || !/^[a-z][a-z0-9._+-]*$/.test(w)) continue;
      if (KEYWORDS.has(w) || BASH_BUILTINS.has(w) || functions.has(w)) continue;
      found.set(w, [...(found.get(w) ?? []), n + 1]);
    }
  });
  return found;
}

/** Scripts below installer-scripts/ that run on the installed node, not in the installer (their tools are the OS image's). */
export const NODE_SCRIPTS_DIR = 'node';

/** Every *.sh below dir (recursively, minus node/), as relative paths. */
export function shellScripts(dir: string, rel = ''): string[] {
  return readdirSync(join(dir, rel), { withFileTypes: true }).flatMap((e) => {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) return r === NODE_SCRIPTS_DIR ? [] : shellScripts(dir, r);
    return e.name.endsWith('.sh') ? [r] : [];
  });
}

/** Commands of every installer script: command -> ["lib/disks.sh:12", ...]. */
export function installerCommands(dir: string): Map<string, string[]> {
  const all = new Map<string, string[]>();
  const files = shellScripts(dir);
  const fns = new Set(
    files.flatMap((f) =>
      [...readFileSync(join(dir, f), 'utf8').matchAll(/^\s*([A-Za-z_][\w-]*)\s*\(\)\s*\{/gm)].map((m) => m[1]!),
    ),
  );
  for (const f of files) {
    for (const [cmd, lines] of scriptCommands(readFileSync(join(dir, f), 'utf8'))) {
      if (fns.has(cmd)) continue;
      all.set(cmd, [...(all.get(cmd) ?? []), ...lines.map((l) => `${f}:${l}`)]);
    }
  }
  return all;
}

/** Words of the scripts' code (quoted text and comments excluded), plus #! interpreters. */
export function installerWords(dir: string): Set<string> {
  const words = new Set<string>();
  for (const f of shellScripts(dir)) {
    const src = readFileSync(join(dir, f), 'utf8');
    const shebang = /^#!\s*(\S+)(?:\s+(\S+))?/.exec(src);
    if (shebang) for (const w of [shebang[1]!.split('/').pop()!, shebang[2]]) if (w) words.add(w);
    for (const m of codeOnly(src).matchAll(/[A-Za-z0-9_.+-]+/g)) words.add(m[0]);
  }
  return words;
}

/** Tools the scripts call that the list lacks, and listed tools nothing in the scripts names. */
export function requirementsParity(dir: string, tools: readonly string[]): { unlisted: string[]; unused: string[] } {
  const calls = installerCommands(dir);
  const words = installerWords(dir);
  const listed = new Set(tools);
  return {
    unlisted: [...calls].filter(([c]) => !listed.has(c)).map(([c, where]) => `${c} (${where.slice(0, 3).join(', ')})`),
    unused: tools.filter((t) => !words.has(t)),
  };
}
