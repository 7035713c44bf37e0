import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  createKey,
  createKeyInput,
  keyViewById,
  listKeyViews,
  parseInput,
  revokeKeyById,
  updateKeyById,
  updateKeyInput,
} from '../src/admin/keys';
import {
  createTeam,
  createTeamInput,
  deleteTeamById,
  listTeamViews,
  teamViewById,
  updateTeamById,
  updateTeamInput,
} from '../src/admin/teams';
import { usageReport } from '../src/admin/usage';
import type { GatewayConfig } from '../src/config/compile';
import type { GatewayDb } from '../src/db/database';
import { GatewayError } from '../src/errors/gateway-error';
import { loadConfig } from './config-file';
import { readSettings, type Settings } from './settings';
import { migrateSqlite, openSqlite } from './sqlite';

const usage = `usage: vidai <command>

  keys create --name NAME --models a,b|* [limits] [--team ID] [--expires-at ISO-8601]
  keys update ID [--name NAME] [--models a,b|*] [limits] [--team ID|none] [--expires-at ISO-8601|none]
  keys list
  keys show ID
  keys revoke ID
  teams create --name NAME [--models a,b|*] [limits] [--expires-at ISO-8601]
  teams update ID [--name NAME] [--models a,b|*] [limits] [--expires-at ISO-8601|none]
  teams list
  teams show ID
  teams delete ID
  usage [--group-by key|team|model] [--from ISO-8601] [--to ISO-8601]
        [--key ID] [--team ID] [--model NAME] [--limit N] [--after CURSOR]

  limits: [--rpm N] [--tpm N] [--budget-usd X] [--budget-period day|month|lifetime]
          ("none" removes a limit)

Works on the database directly (VIDAI_DB or --db, default ./data/vidai.db), so it needs no
running gateway; running workers see changes within a second. create and update also read the
gateway's config (VIDAI_CONFIG or --config, default ./vidai.config.yaml) to check model names.
list, show and usage only read: they refuse a database that does not exist.`;

/** Commands that only read: they must not create a database where there is none. */
const readOnly = new Set(['keys list', 'keys show', 'teams list', 'teams show', 'usage']);

const options = {
  name: { type: 'string' },
  models: { type: 'string' },
  'expires-at': { type: 'string' },
  team: { type: 'string' },
  rpm: { type: 'string' },
  tpm: { type: 'string' },
  'budget-usd': { type: 'string' },
  'budget-period': { type: 'string' },
  'group-by': { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  key: { type: 'string' },
  model: { type: 'string' },
  limit: { type: 'string' },
  after: { type: 'string' },
  db: { type: 'string' },
  config: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof options }>>['values'];

/** "none" clears a field; a number stays a number, anything else is passed on for zod to reject. */
function nullable(value: string | undefined): string | null | undefined {
  return value === 'none' ? null : value;
}

function numeric(value: string | undefined): number | string | null | undefined {
  const v = nullable(value);
  return typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v;
}

function list(value: string | undefined): string[] | undefined {
  return value
    ?.split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

/** The fields keys and teams share, as the admin API names them; undefined ones are left out. */
function commonInput(values: Values): Record<string, unknown> {
  const input: Record<string, unknown> = {
    name: values.name,
    models: list(values.models),
    expires_at: nullable(values['expires-at']),
    rpm: numeric(values.rpm),
    tpm: numeric(values.tpm),
    budget_usd: numeric(values['budget-usd']),
    budget_period: nullable(values['budget-period']),
  };
  for (const [field, value] of Object.entries(input)) if (value === undefined) delete input[field];
  return input;
}

function keyInput(values: Values): Record<string, unknown> {
  const input = commonInput(values);
  if (values.team !== undefined) input.team_id = nullable(values.team);
  return input;
}

type Run = (
  db: GatewayDb,
  config: () => GatewayConfig,
  arg: string | undefined,
) => Promise<unknown>;

function commands(values: Values): Record<string, Run | undefined> {
  const id = (arg: string | undefined) => {
    if (arg === undefined) throw new GatewayError('invalid_request', 'an ID is required');
    return arg;
  };
  return {
    'keys create': (db, config) =>
      createKey(db, config(), parseInput(createKeyInput, keyInput(values))),
    'keys update': (db, config, arg) =>
      updateKeyById(db, config(), id(arg), parseInput(updateKeyInput, keyInput(values))),
    'keys list': (db) => listKeyViews(db),
    'keys show': (db, _config, arg) => keyViewById(db, id(arg)),
    'keys revoke': (db, _config, arg) => revokeKeyById(db, id(arg)),
    'teams create': (db, config) =>
      createTeam(db, config(), parseInput(createTeamInput, commonInput(values))),
    'teams update': (db, config, arg) =>
      updateTeamById(db, config(), id(arg), parseInput(updateTeamInput, commonInput(values))),
    'teams list': (db) => listTeamViews(db),
    'teams show': (db, _config, arg) => teamViewById(db, id(arg)),
    'teams delete': (db, _config, arg) => deleteTeamById(db, id(arg)),
    usage: (db) => {
      const query: Record<string, string> = {};
      const fields = {
        group_by: values['group-by'],
        from: values.from,
        to: values.to,
        key_id: values.key,
        team_id: values.team,
        model: values.model,
        limit: values.limit,
        after: values.after,
      };
      for (const [field, value] of Object.entries(fields))
        if (value !== undefined) query[field] = value;
      return usageReport(db, query);
    },
  };
}

function openDatabase(
  values: Values,
  mustExist: boolean,
): {
  settings: Settings;
  sqlite: ReturnType<typeof openSqlite>;
} {
  const settings = readSettings(
    [
      ...(values.db ? ['--db', values.db] : []),
      ...(values.config ? ['--config', values.config] : []),
    ],
    process.env,
  );
  if (mustExist && !existsSync(settings.dbPath)) {
    throw new Error(`no database exists at ${settings.dbPath} (set VIDAI_DB or pass --db)`);
  }
  migrateSqlite(settings.dbPath);
  return { settings, sqlite: openSqlite(settings.dbPath) };
}

/** The gateway's config, to check model names; a missing file says how to point at it. */
function configFor(path: string): GatewayConfig {
  if (!existsSync(path)) {
    throw new Error(
      `cannot read the config at ${path}: it is needed to check model names (set VIDAI_CONFIG or pass --config)`,
    );
  }
  return loadConfig(path, process.env);
}

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({ args: argv, allowPositionals: true, options });
  const [group, command, arg] = positionals;
  const name = group === 'usage' ? 'usage' : `${group} ${command}`;
  const run = commands(values)[name];
  if (values.help || run === undefined) {
    process.stdout.write(`${usage}\n`);
    return values.help ? 0 : 2;
  }
  const { settings, sqlite } = openDatabase(values, readOnly.has(name));
  try {
    const result = await run(
      sqlite.db,
      () => configFor(settings.configPath),
      group === 'usage' ? command : arg,
    );
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    if (name === 'keys create') {
      process.stderr.write('The key is shown only now; it is stored as a hash.\n');
    }
    return 0;
  } finally {
    sqlite.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(
      `vidai: ${err instanceof GatewayError || err instanceof Error ? err.message : String(err)}\n`,
    );
    process.exit(1);
  },
);
