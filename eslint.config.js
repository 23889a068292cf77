// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Node's globals for the plain .mjs/.js scripts (TypeScript files get them from @types/node).
const nodeGlobals = {
  process: 'readonly',
  console: 'readonly',
  Buffer: 'readonly',
  setTimeout: 'readonly',
  clearTimeout: 'readonly',
  URL: 'readonly',
  performance: 'readonly',
  setInterval: 'readonly',
  clearInterval: 'readonly',
  AbortController: 'readonly',
};

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'demo-out/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  { files: ['**/*.mjs', '**/*.js'], languageOptions: { globals: nodeGlobals } },
);
