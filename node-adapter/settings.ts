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

/** A whole number in [min, max], written as digits (not '1e3', '0x10' or ''). */
function intSetting(name: string, value: string, min: number, max: number, why = ''): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < min || n > max)
    throw new Error(
      `${name} must be a whole number from ${min} to ${max}${why} (got "${value.slice(0, 40)}")`,
    );
  return n;
}

/** More workers than this only contend for the cores (and take long to fork and to drain). */
export const WORKERS_PER_CORE = 4;

/** setTimeout's ceiling (about 24.8 days): a longer drain deadline would fire at once. */
const MAX_DRAIN_MS = 2_147_483_647 - 5_000;

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
  /** A setting's value and the name the user gave it by: the flag wins over the variable. */
  const source = (flag: 'port' | 'workers', variable: string, fallback: string) =>
    values[flag] !== undefined
      ? { name: `--${flag}`, value: values[flag] }
      : { name: variable, value: env[variable] ?? fallback };
  const port = source('port', 'VIDAI_PORT', '8787');
  const workers = source('workers', 'VIDAI_WORKERS', String(availableParallelism()));
  const dbPath = resolve(values.db ?? env.VIDAI_DB ?? './data/vidai.db');
  return {
    host: values.host ?? env.VIDAI_HOST ?? '127.0.0.1',
    port: intSetting(port.name, port.value, 0, 65_535),
    dbPath,
    configPath: resolve(values.config ?? env.VIDAI_CONFIG ?? './vidai.config.yaml'),
    workers: intSetting(
      workers.name,
      workers.value,
      1,
      WORKERS_PER_CORE * availableParallelism(),
      ` (${WORKERS_PER_CORE} × the ${availableParallelism()} cores here)`,
    ),
    adminKey: adminKeyFrom(env.VIDAI_ADMIN_KEY),
    adminKeyPath: resolve(dirname(dbPath), 'admin.key'),
    drainMs: intSetting('VIDAI_DRAIN_MS', env.VIDAI_DRAIN_MS ?? '30000', 1, MAX_DRAIN_MS),
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
