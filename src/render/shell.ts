// Why: the one way values reach bash on the node: single-quoted assignments that `source`
// reads as data, so no value can ever run as code.

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Single-quotes a string for bash: `it's` becomes `'it'\''s'`. Newlines stay inside the quotes. */
export function shellQuote(value: string): string {
  if (value.includes('\0')) throw new Error('a shell value cannot contain a NUL byte');
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

export type ShellValue = string | number | boolean | readonly string[];

/** One bash assignment: `NAME='value'` or `NAME=('a' 'b')`. Numbers and booleans are quoted too. */
export function shellAssign(name: string, value: ShellValue): string {
  if (!NAME_RE.test(name)) throw new Error(`not a shell variable name: ${name}`);
  if (Array.isArray(value)) return `${name}=(${(value as readonly string[]).map(shellQuote).join(' ')})`;
  return `${name}=${shellQuote(String(value))}`;
}

/** A whole file of assignments, one per line, in the given order. */
export function shellAssignments(entries: ReadonlyArray<readonly [string, ShellValue]>, header?: string): string {
  const lines = header ? header.split('\n').map((l) => `# ${l}`) : [];
  for (const [name, value] of entries) lines.push(shellAssign(name, value));
  return `${lines.join('\n')}\n`;
}
