import type { LogFields, Logger } from '../src/deps';

/**
 * JSON lines on stdout. Writes to a pipe are synchronous on Linux, so lines are gathered and
 * written once per tick, after the request that logged them has moved on.
 */
export function createLogger(
  component: string,
  write: (text: string) => void = (t) => process.stdout.write(t),
): Logger & { flush(): void } {
  let lines: string[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (lines.length === 0) return;
    const text = lines.join('');
    lines = [];
    write(text);
  };
  const log = (level: string) => (event: string, fields?: LogFields) => {
    lines.push(
      `${JSON.stringify({ time: new Date().toISOString(), level, component, pid: process.pid, event, ...fields })}\n`,
    );
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
  return { info: log('info'), warn: log('warn'), error: log('error'), flush };
}
