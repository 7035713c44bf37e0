import { parseArgs } from 'node:util';
import {
  createKey,
  createKeyInput,
  listKeyViews,
  parseInput,
  revokeKeyById,
} from '../src/admin/keys';
import { GatewayError } from '../src/errors/gateway-error';
import { loadConfig } from './config-file';
import { readSettings } from './settings';
import { migrateSqlite, openSqlite } from './sqlite';

const usage = `usage: vidai <command>

  keys create --name NAME --models a,b|* [--expires-at ISO-8601]
  keys list
  keys revoke ID

Works on the database directly (VIDAI_DB, default ./data/vidai.db), so it needs no running
gateway; running workers see changes within a second.`;

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      models: { type: 'string' },
      'expires-at': { type: 'string' },
      db: { type: 'string' },
      config: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [group, command, arg] = positionals;
  if (values.help || group !== 'keys' || command === undefined) {
    process.stdout.write(`${usage}\n`);
    return values.help ? 0 : 2;
  }
  const settings = readSettings(
    [
      ...(values.db ? ['--db', values.db] : []),
      ...(values.config ? ['--config', values.config] : []),
    ],
    process.env,
  );
  migrateSqlite(settings.dbPath);
  const sqlite = openSqlite(settings.dbPath);
  try {
    if (command === 'create') {
      const config = loadConfig(settings.configPath, process.env);
      const input = parseInput(createKeyInput, {
        name: values.name,
        models: values.models
          ?.split(',')
          .map((model) => model.trim())
          .filter(Boolean),
        expires_at: values['expires-at'],
      });
      const created = await createKey(sqlite.db, config, input);
      process.stdout.write(`${JSON.stringify(created, null, 2)}\n`);
      process.stderr.write('The key is shown only now; it is stored as a hash.\n');
    } else if (command === 'list') {
      process.stdout.write(`${JSON.stringify(await listKeyViews(sqlite.db), null, 2)}\n`);
    } else if (command === 'revoke' && arg !== undefined) {
      process.stdout.write(`${JSON.stringify(await revokeKeyById(sqlite.db, arg))}\n`);
    } else {
      process.stdout.write(`${usage}\n`);
      return 2;
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
