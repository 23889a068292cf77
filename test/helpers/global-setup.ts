// Why: vitest global setup of the e2e project: builds (or finds cached) the Debian fixtures once and provides them to every test file.
import type { TestProject } from 'vitest/node';
import { ensureFixtures, type Fixtures } from './fixtures.js';

declare module 'vitest' {
  export interface ProvidedContext {
    fixtures: Fixtures;
  }
}

export default async function setup(project: TestProject): Promise<void> {
  const started = Date.now();
  const fixtures = await ensureFixtures();
  process.stderr.write(`fixtures ready in ${Date.now() - started} ms: ${fixtures.dir}\n`);
  project.provide('fixtures', fixtures);
}
