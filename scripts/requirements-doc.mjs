// Rewrites the generated table of docs/requirements.md from installer-scripts/requirements.tsv
// (after `npm run build`). A unit test fails while the two differ.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DOC_BEGIN, DOC_END, loadRequirements, requirementsMarkdown } from '../dist/requirements.js';
import { projectRoot } from '../dist/version.js';

const doc = join(projectRoot, 'docs', 'requirements.md');
const text = readFileSync(doc, 'utf8');
const a = text.indexOf(DOC_BEGIN);
const b = text.indexOf(DOC_END);
if (a < 0 || b < a) throw new Error(`${doc}: the generated-block markers are missing`);
writeFileSync(
  doc,
  `${text.slice(0, a + DOC_BEGIN.length)}\n${requirementsMarkdown(loadRequirements())}${text.slice(b)}`,
);
