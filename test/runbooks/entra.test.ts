// ARM through Microsoft Entra ID for real (issue 10, point 10): the lab serves an authority host
// (OpenID metadata and the client credentials grant, lab/arm/entra.ts) on its HTTPS endpoint, and
// the runbook reaches ARM with @azure/identity's EnvironmentCredential / DefaultAzureCredential
// from AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, as a service principal in
// production does. A wrong secret is a set-up error (exit 2) before anything is sent, naming the
// AADSTS code and never the secret.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import * as assert from 'uvu/assert';
import { test } from 'uvu';
import { FAST, FAST_PLANNED, type LabRun, type TestLab } from '../helpers/lab-run.js';
import { runbookCases } from '../helpers/runbook-cases.js';
import { root, runInProcess } from '../helpers/cli.js';

/** The lab's inventory with ARM reached through Entra ID (no static token), and the service principal's variables. */
function entraInventory(t: TestLab, credential: 'environment' | 'default', secret?: string): { inventoryFile: string; env: Record<string, string | undefined> } {
  const inventory = yaml.load(readFileSync(t.inventoryFile, 'utf8')) as { arm: Record<string, unknown> };
  inventory.arm.credential = credential;
  delete inventory.arm.tokenEnv;
  inventory.arm.authorityHost = t.lab.env.LAB_ENTRA_AUTHORITY_HOST;
  const inventoryFile = join(t.dir, `entra-${credential}.yml`);
  writeFileSync(inventoryFile, yaml.dump(inventory));
  const env = {
    AZURE_TENANT_ID: t.lab.env.LAB_ENTRA_TENANT_ID,
    AZURE_CLIENT_ID: t.lab.env.LAB_ENTRA_CLIENT_ID,
    AZURE_CLIENT_SECRET: secret ?? t.lab.env.LAB_ENTRA_CLIENT_SECRET,
    // Only the environment's credential: not an az login or a managed identity of this machine.
    AZURE_TOKEN_CREDENTIALS: credential === 'default' ? 'EnvironmentCredential' : undefined,
    AZURE_AUTHORITY_HOST: undefined,
    // Nothing but Entra can make ARM accept the run: the static token is not there.
    LAB_ARM_TOKEN: undefined,
  };
  return { inventoryFile, env };
}

const noSecretShown = (t: TestLab, run: LabRun, wrong?: string) => {
  const output = run.stdout + run.stderr;
  assert.not.ok(output.includes(t.lab.env.LAB_ENTRA_CLIENT_SECRET!), 'the secret is not shown');
  if (wrong) assert.not.ok(output.includes(wrong), 'the wrong secret is not shown');
  assert.not.ok(output.includes(t.lab.env.LAB_ARM_TOKEN!), 'the token is not shown');
};

const wrongSecret = 'Wrong~secret-for-the-lab-0123456789';

runbookCases([
  {
    name: 'EnvironmentCredential (a service principal) against the lab authority: token obtained, planned failover done',
    runbook: 'planned-failover',
    set: FAST_PLANNED,
    arrange: (t) => entraInventory(t, 'environment'),
    expect: { exit: 0, roles: { sqlServer: 'SECONDARY', managedInstance: 'PRIMARY' }, lost: 0 },
    then: (t, run) => {
      noSecretShown(t, run);
      // ARM was asked (the update policy and the link), with the token Entra issued.
      assert.ok(t.lab.armRequests().some((r) => /\/managedInstances\/sqlmi1$/.test(r.path) && r.status === 200), 'ARM answered the managed instance read');
    },
  },
  {
    name: 'DefaultAzureCredential picks the environment credential the same way',
    runbook: 'break-link',
    set: FAST,
    arrange: (t) => entraInventory(t, 'default'),
    expect: { exit: 0, link: { sqlServer: false, managedInstance: false }, armWrites: ['DELETE dag1'] },
    then: (t, run) => noSecretShown(t, run),
  },
  {
    name: 'a wrong client secret: exit 2 before anything is sent, naming Entra and the AADSTS code, never the secret',
    runbook: 'planned-failover',
    set: FAST_PLANNED,
    arrange: (t) => entraInventory(t, 'environment', wrongSecret),
    expect: {
      exit: 2,
      stderr: [/^runbook: set-up error on ARM: could not get a Microsoft Entra token for ARM \(\w+: AADSTS7000215: Invalid client secret provided\); check arm\.credential and arm\.authorityHost in the inventory and the AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET variables, or sign in again\. Nothing was run: no lock, no journal\.\n$/],
      stdout: '',
      nothingSent: true,
      armWrites: [],
      roles: { sqlServer: 'PRIMARY', managedInstance: 'SECONDARY' },
    },
    then: async (t, run) => {
      noSecretShown(t, run, wrongSecret);
      assert.equal(t.lab.armRequests(), [], 'ARM itself was never asked without a token');
      // Attack 10 F7: plan --probe's predicted failure named arm.tokenEnv, which this inventory
      // does not use; it names what EnvironmentCredential reads.
      const { inventoryFile, env } = entraInventory(t, 'environment', wrongSecret);
      const probe = await runInProcess(['plan', join(root, 'runbooks', 'planned-failover.yml'), '-i', inventoryFile, '--probe'], { env: { ...t.lab.env, ...env }, timeoutMs: 40_000 });
      const said = probe.stdout + probe.stderr;
      assert.match(said, /Could not get a token for ARM to read link .*\(\w+\)\. Check the AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET \(or AZURE_CLIENT_CERTIFICATE_PATH\) variables and arm\.authorityHost in the inventory \(arm\.credential: environment\), or sign in again/, said);
      assert.not.match(said, /tokenEnv/);
      assert.not.ok(said.includes(wrongSecret), 'the wrong secret is not shown');
    },
  },
]);

test.run();
