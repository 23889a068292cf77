// Why: fleets live in spreadsheets. A node list may be a CSV file (`--nodes nodes.csv`): a header
// row of column names (`name`, `hostname` and the dotted answers keys a node may set), one row per
// node. Cells are typed here as the answers schema wants them (numbers, true/false, lists), so
// the merged answers validate exactly as a YAML node list would. Parsing is csv-parse's (quotes,
// commas inside quotes, CRLF, a UTF-8 byte-order mark), never split by hand.
import { CsvError, parse } from 'csv-parse/sync';
import { didYouMean } from './load.js';

/** How a cell becomes a value. */
type CellKind =
  | 'text'
  /** a whole number */
  | 'int'
  /** true/false (also yes/no, 1/0) */
  | 'bool'
  /** a list separated by `;`, `,` or spaces (IP addresses, globs, transports) */
  | 'list'
  /** a list of items that may hold spaces (ssh keys, disk models): `;`- or newline-separated */
  | 'lines';

/**
 * The columns of a CSV node list, and so exactly the keys a node may set (the YAML form allows
 * the same keys). `name` and `hostname` are the node's own; the rest are answers keys, merged
 * over the base answers key by key (a list replaces the base's list).
 */
export const CSV_COLUMNS: Readonly<Record<string, CellKind>> = {
  name: 'text',
  hostname: 'text',
  'network.mode': 'text',
  'network.interface': 'text',
  'network.address': 'text',
  'network.prefix': 'int',
  'network.gateway': 'text',
  'network.dns': 'list',
  'user.sshKeys': 'lines',
  'disk.match': 'text',
  'disk.byId': 'list',
  'disk.byPath': 'list',
  'disk.serial': 'list',
  'disk.wwn': 'list',
  'disk.model': 'lines',
  'disk.transport': 'list',
  'disk.minGiB': 'int',
  'disk.maxGiB': 'int',
  'disk.rotational': 'bool',
  'disk.pick': 'text',
  'disk.wipeExisting': 'bool',
};

/** One CSV row as a raw node entry (validated later like a YAML entry), with where it came from. */
export interface CsvNode {
  /** The row's line number in the file (the header is line 1). */
  row: number;
  /** `{ hostname, name?, network?: {...}, user?: {sshKeys}, disk?: {...} }` */
  entry: Record<string, unknown>;
  /** The columns this row set (non-empty cells), e.g. `network.address`. */
  columns: string[];
}

function cellValue(kind: CellKind, cell: string): { value: unknown } | { error: string } {
  switch (kind) {
    case 'text':
      return { value: cell };
    case 'int':
      if (!/^-?[0-9]+$/.test(cell)) return { error: `"${cell}" is not a whole number` };
      return { value: Number(cell) };
    case 'bool': {
      const v = cell.toLowerCase();
      if (['true', 'yes', '1'].includes(v)) return { value: true };
      if (['false', 'no', '0'].includes(v)) return { value: false };
      return { error: `"${cell}" is not true or false` };
    }
    case 'list':
      return { value: cell.split(/[;,\s]+/).filter(Boolean) };
    case 'lines':
      return {
        value: cell
          .split(/[;\n]/)
          .map((s) => s.trim())
          .filter(Boolean),
      };
  }
}

function setDotted(obj: Record<string, unknown>, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  let cur = obj;
  for (const p of parts.slice(0, -1)) {
    cur[p] ??= {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts.at(-1)!] = value;
}

/**
 * Parses a CSV node list. Returns the rows, or the problems (each one line naming the row and
 * column, without the file name: the caller's ValidationError names the file).
 */
export function parseNodesCsv(text: string): { nodes: CsvNode[]; problems: string[] } {
  let records: Array<{ record: string[]; info: { lines: number } }>;
  try {
    records = parse(text, {
      bom: true,
      trim: true,
      skip_empty_lines: true,
      comment: '#',
      comment_no_infix: true,
      info: true,
      relax_column_count: false,
    }) as unknown as Array<{ record: string[]; info: { lines: number } }>;
  } catch (err) {
    if (err instanceof CsvError) {
      const line = (err as CsvError & { lines?: number }).lines;
      return {
        nodes: [],
        problems: [`${line ? `row ${line}: ` : ''}${err.message.replace(/^Invalid Record Length: /, '')}`],
      };
    }
    throw err;
  }
  const [header, ...rows] = records;
  if (!header) return { nodes: [], problems: ['the file is empty: it needs a header row and one row per node'] };
  const problems: string[] = [];
  const known = Object.keys(CSV_COLUMNS);
  const seen = new Set<string>();
  header.record.forEach((col, i) => {
    if (col === '') problems.push(`row ${header.info.lines}, column ${i + 1}: the column has no name`);
    else if (seen.has(col)) problems.push(`row ${header.info.lines}, column ${col}: named twice`);
    else if (!(col in CSV_COLUMNS)) {
      const guess = didYouMean(col, known);
      problems.push(
        `row ${header.info.lines}, column ${col}: not a key a node may set; ${guess ? `did you mean ${guess}?` : `known columns: ${known.join(', ')}`}`,
      );
    }
    seen.add(col);
  });
  if (!seen.has('hostname')) problems.push(`row ${header.info.lines}: no hostname column (every node needs one)`);
  if (problems.length) return { nodes: [], problems };
  if (rows.length === 0) problems.push('no node rows after the header');

  const nodes: CsvNode[] = [];
  for (const { record, info } of rows) {
    const entry: Record<string, unknown> = {};
    const columns: string[] = [];
    record.forEach((cell, i) => {
      const col = header.record[i]!;
      if (cell === '') return; // an empty cell keeps the base's value
      const v = cellValue(CSV_COLUMNS[col]!, cell);
      if ('error' in v) {
        problems.push(`row ${info.lines}, column ${col}: ${v.error}`);
        return;
      }
      setDotted(entry, col, v.value);
      columns.push(col);
    });
    if (entry.hostname === undefined)
      problems.push(`row ${info.lines}, column hostname: is empty (every node needs one)`);
    nodes.push({ row: info.lines, entry, columns });
  }
  return { nodes, problems };
}
