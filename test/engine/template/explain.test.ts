// A skipped step's `when:` in words (engine/template/explain.ts), as the run's summary shows it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { explainWhen } from '../../../engine/template/explain.js';

const context = {
  inputs: { dropLinkAfter: false, reverseRoles: false, direction: 'toManagedInstance' },
  link: { name: 'dag1' },
  steps: {
    gap: { outputs: { primaryReachable: false } },
    roles: { outputs: { primary: 'managedInstance' } },
    'dag-on-sql-server': { outputs: { rowCount: 0 } },
    version: { outputs: { first: { v: '16.0.4100.1' } } },
  },
};

test('each helper says what decided it', () => {
  const cases: Array<[string, string]> = [
    ['{{inputs.dropLinkAfter}}', 'dropLinkAfter is false'],
    ['{{not (eq inputs.direction \'toManagedInstance\')}}', "direction is 'toManagedInstance'"],
    ["{{eq inputs.direction 'toSQL'}}", "direction is 'toManagedInstance', not 'toSQL'"],
    ["{{eq 'toSQL' inputs.direction}}", "direction is 'toManagedInstance', not 'toSQL'"],
    ['{{gt steps.dag-on-sql-server.outputs.rowCount 0}}', 'rowCount of dag-on-sql-server is 0, not more than 0'],
    ["{{versionAtLeast steps.version.outputs.first.v '16.0.4125'}}", "first.v of version is '16.0.4100.1', older than '16.0.4125'"],
    // and: the first part that is false; or: every part.
    ['{{and inputs.reverseRoles steps.gap.outputs.primaryReachable}}', 'reverseRoles is false'],
    ['{{or inputs.reverseRoles steps.gap.outputs.primaryReachable}}', 'reverseRoles is false and primaryReachable of gap is false'],
    ["{{and (not inputs.dropLinkAfter) (eq steps.roles.outputs.primary 'sqlServer')}}", "primary of roles is 'managedInstance', not 'sqlServer'"],
    [' {{inputs.dropLinkAfter}} ', 'dropLinkAfter is false'],
  ];
  for (const [when, words] of cases) assert.is(explainWhen(when, context), words, when);
});

test('what cannot be said plainly is left to the template as written', () => {
  assert.is(explainWhen('{{#if inputs.dropLinkAfter}}true{{else}}false{{/if}}', context), undefined);
  assert.is(explainWhen('x{{inputs.dropLinkAfter}}', context), undefined);
  assert.is(explainWhen('{{inputs.missing}}', context), undefined);
});

test.run();
