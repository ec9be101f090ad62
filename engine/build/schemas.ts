// Build step (after tsc): writes standalone ajv validators to dist/schemas/ so `validate` and
// `plan` never load or run the ajv compiler. Run as `node dist/engine/build-schemas.js`.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ajv, compiledDir, documentValidatorFile, readSchema, schemaHash, stepValidatorFile, type DocumentSchemaName } from '../validate/schemas.js';
import type { JsonSchema } from '../core/types.js';
import type { StepModuleMap } from '../step-api/types.js';

const require = createRequire(import.meta.url);
const standalone = (require('ajv/dist/standalone') as { default: (ajv: unknown, v: unknown) => string }).default;

function write(file: string, schema: JsonSchema): void {
  const instance = ajv({ code: { source: true } });
  const validate = instance.compile(schema);
  const code = `${standalone(instance, validate)}\nmodule.exports.schemaHash = ${JSON.stringify(schemaHash(schema))};\n`;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, code);
}

async function main(): Promise<void> {
  const started = performance.now();
  mkdirSync(compiledDir, { recursive: true });
  for (const name of ['runbook', 'inventory', 'fleet'] as DocumentSchemaName[]) write(documentValidatorFile(name), readSchema(name));
  let steps = 0;
  const registry = join(compiledDir, '..', 'steps', 'index.js');
  if (existsSync(registry)) {
    const mod = (await import(pathToFileURL(registry).href)) as { stepModules?: StepModuleMap; steps?: StepModuleMap; default?: StepModuleMap };
    const map = mod.stepModules ?? mod.steps ?? mod.default ?? {};
    for (const [type, load] of Object.entries(map)) {
      const def = (await load()).default;
      write(stepValidatorFile(type), def.with);
      steps++;
    }
  }
  console.log(`build-schemas: 3 document schemas and ${steps} step schemas in ${Math.round(performance.now() - started)} ms`);
}

main().catch((e: unknown) => {
  console.error(`build-schemas failed: ${(e as Error).stack ?? String(e)}`);
  process.exit(1);
});
