import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';

/** Where the gateway listens and what it reads, from the environment, overridden by flags. */
export interface Settings {
  host: string;
  port: number;
  dbPath: string;
  configPath: string;
  workers: number;
  /** From VIDAI_ADMIN_KEY; when unset, a key is generated once and kept in `adminKeyPath`. */
  adminKey: string | undefined;
  adminKeyPath: string;
  /** How long a draining worker may take to finish in-flight requests. */
  drainMs: number;
}

function positiveInt(name: string, value: string, min = 1): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new Error(`${name} must be an integer >= ${min} (got "${value}")`);
  return n;
}

/** An admin key anyone could guess is refused: it guards every virtual key. */
const MIN_ADMIN_KEY_LENGTH = 16;

function adminKeyFrom(value: string | undefined): string | undefined {
  if (!value) return undefined;
  if (value.length < MIN_ADMIN_KEY_LENGTH) {
    throw new Error(`VIDAI_ADMIN_KEY must be at least ${MIN_ADMIN_KEY_LENGTH} characters`);
  }
  return value;
}

export function readSettings(argv: string[], env: NodeJS.ProcessEnv): Settings {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      db: { type: 'string' },
      config: { type: 'string' },
      workers: { type: 'string' },
    },
    strict: true,
  });
  const dbPath = resolve(values.db ?? env.VIDAI_DB ?? './data/vidai.db');
  return {
    host: values.host ?? env.VIDAI_HOST ?? '127.0.0.1',
    port: positiveInt('VIDAI_PORT', values.port ?? env.VIDAI_PORT ?? '8787', 0),
    dbPath,
    configPath: resolve(values.config ?? env.VIDAI_CONFIG ?? './vidai.config.yaml'),
    workers: positiveInt(
      'VIDAI_WORKERS',
      values.workers ?? env.VIDAI_WORKERS ?? String(availableParallelism()),
    ),
    adminKey: adminKeyFrom(env.VIDAI_ADMIN_KEY),
    adminKeyPath: resolve(dirname(dbPath), 'admin.key'),
    drainMs: positiveInt('VIDAI_DRAIN_MS', env.VIDAI_DRAIN_MS ?? '30000'),
  };
}

/** Settings travel from the primary to its workers as environment variables. */
export function settingsEnv(settings: Settings): Record<string, string> {
  return {
    VIDAI_HOST: settings.host,
    VIDAI_PORT: String(settings.port),
    VIDAI_DB: settings.dbPath,
    VIDAI_CONFIG: settings.configPath,
    VIDAI_WORKERS: String(settings.workers),
    VIDAI_DRAIN_MS: String(settings.drainMs),
  };
}
