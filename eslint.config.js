// One lint config for the repo. The src/ block is what keeps the core runtime-neutral:
// the Worker build must never be broken by a Node-only import sneaking into src/.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const runtimeModules = [
  'node:*',
  'cloudflare:*',
  'better-sqlite3',
  'drizzle-orm/d1',
  'drizzle-orm/better-sqlite3',
  'drizzle-orm/better-sqlite3/*',
  '@hono/node-server',
  '@hono/node-server/*',
  'undici',
];

export default tseslint.config(
  {
    ignores: [
      'node_modules',
      'dist',
      'data',
      '.wrangler',
      'bench/results',
      '**/worker-configuration.d.ts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { files: ['**/*.{js,mjs}'], languageOptions: { globals: globals.node } },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // The code every request runs (start-up tables, admin and the mocks are left out).
    files: [
      'src/{http,pipeline,policy,providers/translators,sse,usage,util}/**/*.ts',
      'node-adapter/**/*.ts',
      'worker/*.ts',
    ],
    ignores: ['**/*.test.ts', '**/test-*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: 'ObjectExpression > SpreadElement:first-child ~ *',
          message:
            'V8 pretenures a spread followed by more properties (see src/util/merged.ts): put the spread last, or use merged().',
        },
      ],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.test.ts', 'src/**/test-*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      'no-restricted-imports': [
        'error',
        {
          patterns: runtimeModules.map((group) => ({
            group: [group],
            message: 'src/ is runtime-neutral: runtime modules enter only through GatewayDeps.',
          })),
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'src/ is runtime-neutral: read settings through GatewayDeps.' },
        { name: 'Buffer', message: 'src/ is runtime-neutral: use Uint8Array / TextEncoder.' },
        { name: '__dirname', message: 'src/ is runtime-neutral.' },
        { name: 'require', message: 'src/ is runtime-neutral.' },
      ],
    },
  },
);
