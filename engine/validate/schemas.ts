// JSON Schema validators. Loading ajv and compiling costs more than the whole `plan` budget, so
// `npm run build` precompiles the runbook and inventory schemas, and every registered step type's
// `with:` schema, into standalone modules under dist/schemas/ (engine/build/schemas.ts). At run time
// we load those, check they were built from the same schema (its JSON text), and only fall back to ajv
// (loaded lazily) for plugins or a stale build.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { JsonSchema } from '../core/types.js';
import { loadLibrary, type CachedLibrary } from '../core/code-cache.js';
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

/**
 * What a precompiled validator records of the schema it was compiled from, to be compared whole:
 * the schema's JSON text. JSON.stringify and string comparison are native, where hashing the text
 * in JavaScript took ~5 ms of `validate` (27 schemas, run cold: bench/startup).
 */
export function schemaText(schema: JsonSchema): string {
  return JSON.stringify(schema);
}

/**
 * The built-in step types' precompiled validators, all in one file: one require instead of one per
 * step type a runbook uses (a dozen for the shipped runbook: bench/startup). Each entry is a
 * CommonJS module body `(module, exports)`, run when its type is first validated.
 */
export const stepValidatorsFile = join(compiledDir, 'steps.validate.cjs');

export function documentValidatorFile(name: DocumentSchemaName): string {
  return join(compiledDir, `${name}.validate.cjs`);
}

/**
 * A precompiled validators' file as a library run from the build's V8 code cache
 * (engine/core/code-cache.ts; engine/build/code-caches.ts compiles them by validating a sample):
 * generated code of some tens of kilobytes, compiled at every start-up otherwise.
 */
export function validatorLibrary(file: string): CachedLibrary {
  return { file, name: basename(file) };
}

type PrecompiledValidator = Validator & { schemaText?: string };
type ModuleBody = (module: { exports: unknown }, exports: unknown) => void;

let stepValidatorBodies: Record<string, ModuleBody> | undefined;

/** The precompiled validator of built-in step type `type` as the build wrote it, if there is one. */
export function precompiledStepValidator(type: string): PrecompiledValidator | undefined {
  if (!existsSync(stepValidatorsFile)) return undefined;
  stepValidatorBodies ??= loadLibrary<Record<string, ModuleBody>>(validatorLibrary(stepValidatorsFile)).exports;
  const bodies = stepValidatorBodies;
  const body = Object.hasOwn(bodies, type) ? bodies[type] : undefined;
  if (typeof body !== 'function') return undefined;
  const module = { exports: {} as unknown };
  body(module, module.exports);
  return module.exports as PrecompiledValidator;
}

/** A precompiled validator, unless it is missing or was compiled from another schema (a stale build). */
function current(load: () => PrecompiledValidator | undefined, schema: JsonSchema): Validator | undefined {
  try {
    const mod = load();
    return mod?.schemaText === schemaText(schema) ? mod : undefined;
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

const documentValidators = new Map<DocumentSchemaName, Validator>();

export function documentValidator(name: DocumentSchemaName): Validator {
  let v = documentValidators.get(name);
  if (!v) {
    const schema = readSchema(name);
    const file = documentValidatorFile(name);
    v = current(() => (existsSync(file) ? loadLibrary<PrecompiledValidator>(validatorLibrary(file)).exports : undefined), schema) ?? ajv().compile(schema);
    documentValidators.set(name, v);
  }
  return v;
}

/**
 * Validators by the schema object they check, per step type and origin: the steps of one type
 * share their definition's schema object, so it is compared with the build's once per type, not
 * once per step; a plugin's validator is always compiled from its own schema.
 */
const withValidators = { builtin: new WeakMap<JsonSchema, Map<string, Validator>>(), plugin: new WeakMap<JsonSchema, Map<string, Validator>>() };

/** The validator of a step type's `with:`; throws if the schema itself does not compile. */
export function withValidator(def: Pick<StepDefinition, 'type' | 'with'>, opts: { plugin?: boolean } = {}): Validator {
  const byType = opts.plugin ? withValidators.plugin : withValidators.builtin;
  let types = byType.get(def.with);
  if (!types) byType.set(def.with, (types = new Map()));
  let v = types.get(def.type);
  if (!v) {
    v = (opts.plugin ? undefined : current(() => precompiledStepValidator(def.type), def.with)) ?? ajv().compile(def.with);
    types.set(def.type, v);
  }
  return v;
}
