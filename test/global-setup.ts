import { execFileSync } from 'node:child_process';

/** The gateway under test is the built Node adapter, as `npm start` runs it. */
export default function setup(): void {
  execFileSync(process.execPath, ['scripts/build.mjs', '--quiet'], { stdio: 'inherit' });
}
