// JSON Schema validators. Loading ajv and compiling costs more than the whole `plan` budget, so
// `npm run build` precompiles the runbook and inventory schemas, and every registered step type's
// `with:` schema, into standalone modules under dist/schemas/ (engine/build/schemas.ts). At run time
// we load those, check they were built from the same schema (hash), and only fall back to ajv
// (loaded lazily) for plugins or a stale build.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { JsonSchema } from '../core/types.js';
import type { StepDefinition } from '../step-api/types.js';
import { fleetSchema } from './fleet-schema.js';

/** The subset of an ajv error object we read. */
export interface SchemaError {
  instancePath: string;
  schemaPath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

export type Validator = ((data: unknown) => boolean) & { errors?: SchemaError[] | null };

const here = dirname(fileURLToPath(import.meta.url));
/** dist/engine/validate/schemas.js -> the package root, three levels up. */
export const packageRoot = join(here, '..', '..', '..');
/** Where build-schemas writes the precompiled validators (dist/schemas/). */
export const compiledDir = join(here, '..', '..', 'schemas');
const require = createRequire(import.meta.url);

export type DocumentSchemaName = 'runbook' | 'inventory' | 'fleet';

/** The schema for editors, generated at build time from runbook.schema.json and the step types' with: schemas (engine/build/full-schema.ts). */
export const fullSchemaFile = join(packageRoot, 'schemas', 'runbook.full.schema.json');

const documentSchemas = new Map<DocumentSchemaName, JsonSchema>();
export function readSchema(name: DocumentSchemaName): JsonSchema {
  let s = documentSchemas.get(name);
  if (!s) {
    // A fleet's servers and links are the single-link inventory's parts, regrouped: built from that
    // schema so the two can never disagree on what a connection or a managed instance is.
    s = name === 'fleet' ? fleetSchema(readSchema('inventory')) : (JSON.parse(readFileSync(join(packageRoot, 'schemas', `${name}.schema.json`), 'utf8')) as JsonSchema);
    documentSchemas.set(name, s);
  }
  return s;
}

/** A staleness check, not security: two FNV-1a passes over the schema's JSON (no crypto module to load). */
export function schemaHash(schema: JsonSchema): string {
  const text = JSON.stringify(schema);
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193) >>> 0;
    b = Math.imul(b ^ c ^ (i & 0xff), 0x5bd1e995) >>> 0;
  }
  return a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0');
}

/** File-system-safe name for a step type's precompiled validator. */
export function stepValidatorFile(type: string): string {
  return join(compiledDir, 'steps', `${type.replace(/[^A-Za-z0-9_-]/g, '_')}.validate.cjs`);
}

export function documentValidatorFile(name: DocumentSchemaName): string {
  return join(compiledDir, `${name}.validate.cjs`);
}

function loadPrecompiled(file: string, hash: string): Validator | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const mod = require(file) as Validator & { schemaHash?: string };
    return mod.schemaHash === hash ? mod : undefined;
  } catch {
    return undefined;
  }
}

type AjvInstance = { compile(schema: JsonSchema): Validator; validateSchema(schema: JsonSchema): boolean; errorsText(errors?: unknown): string; errors?: unknown };
let ajvInstance: AjvInstance | undefined;

/** The one configured ajv (draft-07, all errors, `format: duration` checked by our own rules). */
export function ajv(options: Record<string, unknown> = {}): AjvInstance {
  if (ajvInstance && Object.keys(options).length === 0) return ajvInstance;
  const mod = require('ajv') as { default: new (opts: Record<string, unknown>) => AjvInstance };
  const instance = new mod.default({ allErrors: true, strict: false, formats: { duration: true }, ...options });
  if (Object.keys(options).length === 0) ajvInstance = instance;
  return instance;
}

const cache = new Map<string, Validator>();

export function documentValidator(name: DocumentSchemaName): Validator {
  const key = `doc:${name}`;
  let v = cache.get(key);
  if (!v) {
    const schema = readSchema(name);
    v = loadPrecompiled(documentValidatorFile(name), schemaHash(schema)) ?? ajv().compile(schema);
    cache.set(key, v);
  }
  return v;
}

/** The validator of a step type's `with:`; throws if the schema itself does not compile. */
export function withValidator(def: Pick<StepDefinition, 'type' | 'with'>, opts: { plugin?: boolean } = {}): Validator {
  const hash = schemaHash(def.with);
  const key = `step:${def.type}:${hash}`;
  let v = cache.get(key);
  if (!v) {
    v = (opts.plugin ? undefined : loadPrecompiled(stepValidatorFile(def.type), hash)) ?? ajv().compile(def.with);
    cache.set(key, v);
  }
  return v;
}
