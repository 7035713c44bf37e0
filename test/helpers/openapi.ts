import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';
// Read through the bundler, not the file system: the conformance suites validate in workerd too.
import specText from '../spec/openai-openapi.yaml?raw';

/**
 * Validates gateway output against OpenAI's published OpenAPI spec (a copy of ../shared/specs, in test/spec/), so "the
 * OpenAI wire format" means what OpenAI documents, not what these tests assume.
 */
/**
 * The spec is OpenAPI 3.1 but still uses 3.0's `nullable` in places; JSON Schema 2020-12 says
 * the same with a "null" type, so rewrite it before compiling.
 */
function normalize(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(normalize);
  if (typeof node !== 'object' || node === null) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) out[key] = normalize(value);
  if (out.nullable !== true) return out;
  delete out.nullable;
  if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
  if (typeof out.type === 'string') return { ...out, type: [out.type, 'null'] };
  if (Array.isArray(out.type)) return { ...out, type: [...out.type, 'null'] };
  return { anyOf: [out, { type: 'null' }] };
}

let ajv: Ajv2020 | undefined;
const cache = new Map<string, ValidateFunction>();

function validator(schemaName: string): ValidateFunction {
  const cached = cache.get(schemaName);
  if (cached) return cached;
  if (!ajv) {
    ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true, logger: false });
    addFormats.default(ajv);
    ajv.addFormat('unixtime', {
      type: 'number',
      validate: (n: number) => Number.isInteger(n) && n >= 0,
    });
    const spec = parse(specText) as { components: unknown };
    ajv.addSchema({ $id: 'openai', components: normalize(spec.components) });
  }
  const fn = ajv.getSchema(`openai#/components/schemas/${schemaName}`);
  if (!fn) throw new Error(`no schema ${schemaName} in the OpenAI spec`);
  cache.set(schemaName, fn);
  return fn;
}

/** Throws with the spec's complaints when `value` does not match `schemaName`. */
export function assertMatchesSpec(schemaName: string, value: unknown): void {
  const validate = validator(schemaName);
  if (!validate(value)) {
    throw new Error(
      `${schemaName} does not match the OpenAI spec:\n${JSON.stringify(validate.errors?.slice(0, 5), null, 2)}\nvalue: ${JSON.stringify(value).slice(0, 2000)}`,
    );
  }
}
