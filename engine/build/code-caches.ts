// Build step (after tsc and build-schemas): writes the V8 code caches of Handlebars' parser, of
// js-yaml and of the precompiled validators to dist/cache/ (see engine/core/code-cache.ts for why
// and when they are used). Run as `node dist/engine/build/code-caches.js`.
import { relative } from 'node:path';
import { codeCacheDir, writeLibraryCache } from '../core/code-cache.js';
import { templateCacheDir, writeHandlebarsCache } from '../template/handlebars.js';
import { jsYamlLibrary, readYamlDocument, type JsYamlModule } from '../load/yaml.js';
import { TreeBuilder } from '../load/positions.js';
import { documentValidatorFile, stepValidatorsFile, validatorLibrary, type DocumentSchemaName, type Validator } from '../validate/schemas.js';

/**
 * Templates in the shapes runbooks write (README "Templates"): paths, helpers with literal and
 * sub-expression arguments, blocks with else, whitespace control, comments, multi-line text.
 * Parsing them compiles the lexer's and parser's functions, so the cache holds them too.
 */
const SAMPLES = [
  'plain text',
  '{{link.name}}',
  '{{inputs.direction}} to {{steps.link-arm.outputs.primary}} at {{run.id}}',
  "{{#if (eq inputs.direction 'toManagedInstance')}}MI{{else}}SQL Server{{/if}}",
  '{{#if (and (ne steps.role.outputs.primary "x") (not inputs.force))}}a{{else if (gt steps.gap.outputs.bytes 0)}}b{{/if}}',
  "ALTER AVAILABILITY GROUP {{ident link.name}}\n  SET (ROLE = SECONDARY);\nSELECT {{str inputs.note}} AS note, {{or inputs.count 3}} AS n;",
  '{{~otherSide inputs.keep~}} {{! a comment }} {{default inputs.wait "5m"}} {{lsnGap true null 1.5}}',
  '  {{#unless inputs.skip}}\n  kept\n  {{/unless}}\n',
];

/**
 * YAML in the shapes runbooks and inventories take (README "Runbook format"): nested block
 * mappings and sequences, plain, quoted and block scalars, flow collections, numbers, booleans,
 * null, comments and an anchor with its alias; read as the engine reads every document.
 */
const YAML_SAMPLES = [
  `# yaml-language-server: $schema=../schemas/runbook.full.schema.json
name: sample
description: >-
  Folded text over
  two lines.
inputs:
  direction: { type: string, enum: [toManagedInstance, toSqlServer], default: toManagedInstance }
  count: { type: integer, default: 3 }
  force: { type: boolean, default: false }
steps:
  - id: read-role
    type: sqlExec
    target: sqlServer
    with:
      impact: read
      sql: |
        SELECT role_desc FROM sys.dm_hadr_availability_replica_states WHERE is_local = 1;
      expect: { rows: 1 }
  - id: 'quoted-id'
    when: "{{eq inputs.direction 'toSqlServer'}}"
    type: confirm
    with: &gate
      message: "Check the link, then go on."
  - { id: again, type: confirm, with: *gate }
timeouts: [1.5, 0x10, -2, ~, null, true, 2026-12-06]
`,
  `link:
  name: dag1
  database: db1
  sqlServer: { host: 127.0.0.1, port: 1433, user: sa, passwordEnv: SQL_PASSWORD, trustServerCertificate: true }
  managedInstance:
    name: sqlmi1
    resourceGroup: rg
    subscriptionId: 00000000-0000-0000-0000-000000000000
arm:
  endpoint: https://127.0.0.1:8443
  credential: tokenEnv
  tokenEnv: ARM_TOKEN
`,
];

const started = performance.now();
writeHandlebarsCache(templateCacheDir, SAMPLES);
writeLibraryCache<JsYamlModule>(jsYamlLibrary(), codeCacheDir, (yaml) => {
  for (const text of YAML_SAMPLES) readYamlDocument(yaml, 'sample.yml', text, new TreeBuilder(text));
});
// Each validator run once, on an empty document: V8 compiles a function whole on its first call.
for (const name of ['runbook', 'inventory', 'fleet'] as DocumentSchemaName[]) {
  writeLibraryCache<Validator>(validatorLibrary(documentValidatorFile(name)), codeCacheDir, (validate) => validate({}));
}
type ModuleBody = (module: { exports: unknown }, exports: unknown) => void;
writeLibraryCache<Record<string, ModuleBody>>(validatorLibrary(stepValidatorsFile), codeCacheDir, (bodies) => {
  for (const body of Object.values(bodies)) {
    const module = { exports: {} as unknown };
    body(module, module.exports);
    (module.exports as Validator)({});
  }
});
process.stdout.write(`code-caches: Handlebars' parser, js-yaml and the precompiled validators compiled into ${relative(process.cwd(), codeCacheDir)}/ in ${Math.round(performance.now() - started)} ms\n`);
