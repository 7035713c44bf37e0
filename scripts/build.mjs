// Bundles the Node adapter (gateway and CLI) into dist/. Dependencies stay external: they are
// loaded from node_modules, so native modules (better-sqlite3) work as installed.
import { build } from 'esbuild';

await build({
  entryPoints: { main: 'node-adapter/main.ts', cli: 'node-adapter/cli.ts' },
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  packages: 'external',
  sourcemap: true,
  logLevel: process.argv.includes('--quiet') ? 'warning' : 'info',
  banner: { js: '#!/usr/bin/env node' },
});
