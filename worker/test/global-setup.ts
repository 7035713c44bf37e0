import { execFileSync } from 'node:child_process';

/** Builds the deployable bundle (and checks its size and imports) for the isolates under test. */
export default function setup(): void {
  execFileSync(process.execPath, ['scripts/worker-bundle.mjs', '--outdir', 'dist/worker-test'], {
    stdio: 'inherit',
  });
}
