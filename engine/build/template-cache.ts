// Build step (after tsc): writes the V8 code cache of Handlebars' parser to dist/cache/ (see
// engine/template/handlebars.ts for why and when it is used). Run as
// `node dist/engine/build/template-cache.js`.
import { relative } from 'node:path';
import { templateCacheDir, writeHandlebarsCache } from '../template/handlebars.js';

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

const started = performance.now();
writeHandlebarsCache(templateCacheDir, SAMPLES);
process.stdout.write(`template-cache: Handlebars parser code cache in ${relative(process.cwd(), templateCacheDir)}/ in ${Math.round(performance.now() - started)} ms\n`);
