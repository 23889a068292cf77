// Why: renders the handlebars files in templates/ (pure: text in, text out). HTML escaping is
// off on purpose: every caller quotes values for its own target (GRUB, systemd, shell).
import Handlebars from 'handlebars';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../version.js';

export const templatesDir = join(projectRoot, 'templates');

const cache = new Map<string, Handlebars.TemplateDelegate>();

export function renderTemplate(name: string, data: Record<string, unknown>): string {
  let tpl = cache.get(name);
  if (!tpl) {
    tpl = Handlebars.compile(readFileSync(join(templatesDir, name), 'utf8'), { noEscape: true, strict: true });
    cache.set(name, tpl);
  }
  return tpl(data);
}

/**
 * Quotes one kernel argument for a GRUB `linux` line. GRUB's script lexer treats quotes,
 * `$`, `\`, `;`, `|`, `&`, `<`, `>`, `{`, `}` and whitespace specially; single quotes
 * protect everything except `'` itself, which is written as '\''.
 */
export function grubQuote(arg: string): string {
  if (/^[A-Za-z0-9_.,:=/+@%-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** GRUB menu titles live inside single quotes in the template. */
export function grubTitle(text: string): string {
  return text.replace(/'/g, `'\\''`);
}
