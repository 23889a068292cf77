// Writes docs/cli-reference.md from the built CLI's own help (run by `npm run docs`).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../dist/version.js';
import { cliReferenceMarkdown } from '../dist/cli/reference.js';

const file = join(projectRoot, 'docs', 'cli-reference.md');
writeFileSync(file, cliReferenceMarkdown());
console.log(`wrote ${file}`);
