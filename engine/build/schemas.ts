// Build step (after tsc): writes standalone ajv validators to dist/schemas/ so `validate` and
// `plan` never load or run the ajv compiler. Run as `node dist/engine/build-schemas.js`.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ajv, compiledDir, documentValidatorFile, fullSchemaFile, readSchema, schemaText, stepValidatorsFile, type DocumentSchemaName } from '../validate/schemas.js';
import { fullRunbookSchema, type StepSchemaSource } from './full-schema.js';
import { lengthsAgreeInCodeUnits } from './length-counting.js';
import type { JsonSchema } from '../core/types.js';
import type { StepModuleMap } from '../step-api/types.js';

const require = createRequire(import.meta.url);
const standalone = (require('ajv/dist/standalone') as { default: (ajv: unknown, v: unknown) => string }).default;

/** ajv's console, without its deprecation notice for the `unicode` option, given on purpose. */
const quietAboutUnicode = {
  log: console.log,
  warn: (...args: unknown[]) => (/option unicode/.test(String(args[0])) ? undefined : console.warn(...args)),
  error: console.error,
};

/** A CommonJS module exporting the validator of `schema` and the schema it was compiled from. */
function validatorModule(schema: JsonSchema): string {
  // ajv counts characters in JavaScript, one by one, over every string a length applies to: the
  // whole of each sqlExec script for its `minLength: 1`, on cold code at start-up (bench/startup).
  // Where the two counts agree, the validator uses `length` instead. ajv 8 calls the option
  // deprecated and still honours it (ajv/dist/vocabularies/validation/limitLength.js); an ajv that
  // drops it counts characters again: slower, as correct.
  const instance = ajv({ code: { source: true }, ...(lengthsAgreeInCodeUnits(schema) ? { unicode: false, logger: quietAboutUnicode } : {}) });
  const validate = instance.compile(schema);
  return `${standalone(instance, validate)}\nmodule.exports.schemaText = ${JSON.stringify(schemaText(schema))};\n`;
}

function write(file: string, code: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, code);
}

/** The step types' validator modules as one file: each type's module body, run on first use (engine/validate/schemas.ts). */
function stepValidatorsModule(modules: Map<string, string>): string {
  const entries = [...modules].map(([type, code]) => `exports[${JSON.stringify(type)}] = function (module, exports) {\n${code}};\n`);
  return `"use strict";\n${entries.join('')}`;
}

async function main(): Promise<void> {
  const started = performance.now();
  mkdirSync(compiledDir, { recursive: true });
  for (const name of ['runbook', 'inventory', 'fleet'] as DocumentSchemaName[]) write(documentValidatorFile(name), validatorModule(readSchema(name)));
  const stepModulesCode = new Map<string, string>();
  const registry = join(compiledDir, '..', 'steps', 'index.js');
  const sources: StepSchemaSource[] = [];
  if (existsSync(registry)) {
    const mod = (await import(pathToFileURL(registry).href)) as { stepModules?: StepModuleMap; steps?: StepModuleMap; default?: StepModuleMap };
    const map = mod.stepModules ?? mod.steps ?? mod.default ?? {};
    for (const [type, load] of Object.entries(map)) {
      const def = (await load()).default;
      stepModulesCode.set(type, validatorModule(def.with));
      sources.push({ type, description: def.description, with: def.with, target: def.target });
    }
  }
  write(stepValidatorsFile, stepValidatorsModule(stepModulesCode));
  // The schema editors use (README "Runbook format"): written into the source tree, where the
  // runbooks' `# yaml-language-server: $schema=` lines find it, and kept in git so a clone has it
  // before any build; a change to a step's with: shows up as a diff of this file.
  const full = fullRunbookSchema(readSchema('runbook'), sources);
  writeFileSync(fullSchemaFile, JSON.stringify(full, null, 2) + '\n');
  console.log(`build-schemas: 3 document schemas and ${stepModulesCode.size} step schemas in ${Math.round(performance.now() - started)} ms; ${relative(process.cwd(), fullSchemaFile) || fullSchemaFile}`);
}

main().catch((e: unknown) => {
  console.error(`build-schemas failed: ${(e as Error).stack ?? String(e)}`);
  process.exit(1);
});
