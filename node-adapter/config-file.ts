import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { compileConfig, type GatewayConfig } from '../src/config/compile';
import { ConfigError, parseConfig } from '../src/config/schema';

/** Reads, validates and compiles the YAML config; every failure names the file. */
export function loadConfig(path: string, env: NodeJS.ProcessEnv): GatewayConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([
      `${path}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    ]);
  }
  let document: unknown;
  try {
    document = parse(text);
  } catch (err) {
    throw new ConfigError([`${path}: not valid YAML: ${(err as Error).message.split('\n')[0]}`]);
  }
  try {
    return compileConfig(parseConfig(document), env);
  } catch (err) {
    if (err instanceof ConfigError)
      throw new ConfigError(err.issues.map((issue) => `${path}: ${issue}`));
    throw err;
  }
}
