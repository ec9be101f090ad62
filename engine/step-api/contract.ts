// The contract every step type meets, built-in or plugin, checked at run time (a plugin is plain
// JavaScript to the loader). Returns problems as sentences, so the step tester and the plugin
// loader can both say exactly what is missing.
import type { JsonSchema } from '../core/types.js';
import { isRecord } from '../core/record.js';

const IMPACTS = ['read', 'change', 'dataLoss'];
const TARGETS = ['required', 'optional', 'none'];

/** Problems with a step definition; empty when it meets the contract. `source` names it in messages. */
export function checkStepDefinition(def: unknown, source: string): string[] {
  const problems: string[] = [];
  const say = (m: string) => problems.push(`${source}: ${m}`);
  if (!isRecord(def)) {
    say('the default export must be a step definition object');
    return problems;
  }
  if (typeof def.type !== 'string' || !/^[a-z][A-Za-z0-9]*$/.test(def.type)) say('`type` must be a lowerCamel name such as `sqlExec`');
  if (typeof def.description !== 'string' || def.description.trim() === '') say('`description` must be a non-empty string');
  if (typeof def.impact !== 'function' && !IMPACTS.includes(def.impact as string)) say('`impact` must be read, change, dataLoss or a function returning one');
  if (!TARGETS.includes(def.target as string)) say('`target` must be required, optional or none');
  if (def.resultHolds !== undefined && def.resultHolds !== 'moment' && def.resultHolds !== 'run') say('`resultHolds` must be moment or run when given');
  if (!isRecord(def.outputs)) say('`outputs` must be an object (use {} when the step has none)');
  else {
    for (const [name, spec] of Object.entries(def.outputs)) {
      if (!isRecord(spec) || typeof spec.description !== 'string' || spec.description === '') say(`output \`${name}\` needs a description`);
    }
  }
  if (def.messages !== undefined) {
    if (!isRecord(def.messages)) say('`messages` must map message ids to templates');
    else for (const [id, text] of Object.entries(def.messages)) if (typeof text !== 'string') say(`message \`${id}\` must be a template string`);
  }
  if (def.defaults !== undefined && !isRecord(def.defaults)) say('`defaults` must be an object of `with:` property values');
  if (typeof def.plan !== 'function') say('`plan(ctx, args)` must be a function');
  if (typeof def.run !== 'function') say('`run(ctx, args)` must be a function');
  if (def.verify !== undefined && typeof def.verify !== 'function') say('`verify(ctx, args)` must be a function when given');
  if (def.probe !== undefined && typeof def.probe !== 'function') say('`probe(ctx, args)` must be a function when given');
  if (!isRecord(def.with)) say(`\`with\` must be the JSON Schema of \`with:\`${'withSchema' in def ? ' (it was called `withSchema`; write the step with defineStep)' : ''}`);
  else checkObjectSchema(def.with, 'with', say);
  return problems;
}

function checkObjectSchema(schema: JsonSchema, where: string, say: (m: string) => void): void {
  if (schema.type !== 'object') say(`\`${where}\` must have type: object`);
  if (schema.additionalProperties !== false) say(`\`${where}\` must set additionalProperties: false`);
  if (!isRecord(schema.properties)) {
    say(`\`${where}\` must list its properties`);
    return;
  }
  for (const [name, prop] of Object.entries(schema.properties)) {
    if (!isRecord(prop)) {
      say(`\`${where}.${name}\` must be a schema object`);
      continue;
    }
    if (typeof prop.description !== 'string' || prop.description.trim() === '') say(`\`${where}.${name}\` needs a description`);
    if (prop.type === 'object' && isRecord(prop.properties)) checkObjectSchema(prop as JsonSchema, `${where}.${name}`, say);
  }
}
