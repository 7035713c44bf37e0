// Builds the Worker as `wrangler deploy` would upload it (offline: --dry-run), then checks what
// went in: its gzip size against the Workers Free plan's limit, and that no Node-only module
// entered the bundle. Exits non-zero when either check fails.
//   node scripts/worker-bundle.mjs [--outdir dist/worker]
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';

/** The Free plan's limit on a Worker's compressed size (developers.cloudflare.com/workers/platform/limits). */
const FREE_PLAN_GZIP_BYTES = 3_000_000;
/** Packages that run only on Node: the Worker must reach none of them. */
const NODE_ONLY = ['better-sqlite3', 'undici', '@hono/node-server', 'drizzle-orm/better-sqlite3'];

/** What in an esbuild metafile shows a Node-only module in the bundle (none: an empty list). */
export function nodeOnlyProblems(meta) {
  const problems = [];
  for (const input of Object.keys(meta.inputs)) {
    const hit = NODE_ONLY.find((name) => input.includes(`node_modules/${name}/`));
    if (hit !== undefined) problems.push(`a Node-only module is in the bundle: ${input}`);
  }
  for (const [output, { imports }] of Object.entries(meta.outputs)) {
    for (const { path } of imports) {
      const nodeOnly = NODE_ONLY.some((name) => path === name || path.startsWith(`${name}/`));
      if (path.startsWith('node:') || nodeOnly) problems.push(`${output} imports ${path}`);
    }
  }
  return problems;
}

function main() {
  const { values } = parseArgs({ options: { outdir: { type: 'string', default: 'dist/worker' } } });
  const outdir = values.outdir;
  const metafile = join(outdir, 'bundle-meta.json');
  rmSync(outdir, { recursive: true, force: true });
  execFileSync(
    process.execPath,
    [
      'node_modules/wrangler/bin/wrangler.js',
      'deploy',
      '--dry-run',
      '--outdir',
      outdir,
      '--metafile',
      metafile,
    ],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
    },
  );

  const problems = [];
  const meta = JSON.parse(readFileSync(metafile, 'utf8'));
  for (const input of Object.keys(meta.inputs)) {
    const hit = NODE_ONLY.find((name) => input.includes(`node_modules/${name}/`));
    if (hit !== undefined) problems.push(`a Node-only module is in the bundle: ${input}`);
  }
  for (const [output, { imports }] of Object.entries(meta.outputs)) {
    for (const { path } of imports) {
      if (
        path.startsWith('node:') ||
        NODE_ONLY.some((name) => path === name || path.startsWith(`${name}/`))
      )
        problems.push(`${output} imports ${path}`);
    }
  }

  // What wrangler uploads: every module in the output directory but source maps and its notes.
  let raw = 0;
  let gzip = 0;
  for (const name of readdirSync(outdir)) {
    if (name.endsWith('.map') || name === 'README.md' || name === 'bundle-meta.json') continue;
    const bytes = readFileSync(join(outdir, name));
    raw += bytes.length;
    gzip += gzipSync(bytes, { level: 9 }).length;
  }
  const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
  const share = ((gzip / FREE_PLAN_GZIP_BYTES) * 100).toFixed(1);
  console.log(
    `worker bundle: ${kib(raw)} raw, ${kib(gzip)} gzip — ${share}% of the Free plan's ${FREE_PLAN_GZIP_BYTES / 1_000_000} MB compressed limit`,
  );
  if (gzip > FREE_PLAN_GZIP_BYTES) problems.push('the bundle is over the Free plan limit');
  for (const problem of problems) console.error(`worker bundle: ${problem}`);
  process.exit(problems.length === 0 ? 0 : 1);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
