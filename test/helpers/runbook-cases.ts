// Runbook scenarios as table rows: a lab scenario, a runbook, its inputs and flags, and what the
// run must leave behind, read from the lab itself (exit code, roles, statements sent, ledger,
// link, ARM requests, summary text). Each row is one uvu test on a lab of its own; a row that
// needs more (a second run, an order of statements, a journal record) adds a `then`.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync } from 'node:fs';
import type { StartLabOptions } from '../../lab/index.js';
import { TestLab, type LabApplyOptions, type LabRun } from './lab-run.js';
import { within } from './cli.js';

type Side = 'sqlServer' | 'managedInstance';
type PerSide<T> = { sqlServer: T; managedInstance: T };

/**
 * A statement that changes a replica, as `side: text`: it begins with ALTER, BACKUP, DROP or
 * RESTORE, or it holds an ALTER AVAILABILITY GROUP anywhere (after a comment, inside a batch).
 */
export const isChange = (s: string) => /^\w+: (ALTER|BACKUP|DROP|RESTORE)\b/i.test(s) || /ALTER\s+AVAILABILITY\s+GROUP/i.test(s);

export interface RunbookExpect {
  /** The exit code, or the codes any one of which is right, or a test of it. */
  exit: number | number[] | ((code: number) => boolean);
  /** Each replica's link role after the run (only the sides given are compared). */
  roles?: Partial<PerSide<string>>;
  /** Each member's availability mode after the run, in SQL Server's copy of the DAG (what MODIFY there changes). */
  modes?: PerSide<string>;
  /** The managed instance's copy of the link's mode after the run (ARM's replicationMode). */
  miMode?: 'Sync' | 'Async';
  /** Whether each side still has the link (DAG) after the run (only the sides given are compared). */
  link?: Partial<PerSide<boolean>>;
  /** Every change statement (`isChange`) the replicas received, in order; `[]`: none. */
  sent?: string[];
  /** No statement the replicas received (its text) matches any of these. */
  notSent?: RegExp[];
  /** How many statements the replicas received (their text) match each pattern. */
  times?: Array<[RegExp, number]>;
  /** Nothing of the run's own reached a replica: no statement but the driver's session set-up. */
  nothingSent?: true;
  /** The ARM requests that are not reads, as `METHOD <last path segment>` (e.g. `DELETE dag1`); `[]`: only reads. */
  armWrites?: string[];
  /** Committed transactions lost, by the lab's ledger. */
  lost?: number;
  /** Each must match stdout; `''`: stdout is empty. */
  stdout?: RegExp[] | '';
  /** None may match stdout. */
  notStdout?: RegExp[];
  /** Each must match stderr. */
  stderr?: RegExp[];
  /** No journal was written. */
  noJournal?: true;
}

export interface RunbookCase {
  name: string;
  /** The lab's scenario (default healthy) and what is laid over it. */
  scenario?: string;
  overrides?: StartLabOptions['overrides'];
  /** A shipped runbook's name (`runbooks/<name>.yml`), or a function that writes one into the test's folder and returns its path. */
  runbook: string | ((t: TestLab) => string);
  /** `--set` values. */
  set?: string[];
  /** Flags: `yes` (default true), `allowDataLoss`, `format`, `args`. */
  flags?: Omit<LabApplyOptions, 'sets' | 'env' | 'inventoryFile'>;
  /** Before the run: changes to the lab, or apply options that need it (environment, another inventory). */
  arrange?: (t: TestLab) => Pick<LabApplyOptions, 'env' | 'inventoryFile'> | void;
  /** While the run goes on (it has started): e.g. take a replica down once it has been read. */
  during?: (t: TestLab) => Promise<void>;
  expect: RunbookExpect;
  /** The run must end within this many ms of its start (asserted by the row's name, not left to the runner's kill). */
  withinMs?: number;
  /** What only this row checks, after `expect`. */
  then?: (t: TestLab, run: LabRun) => void | Promise<void>;
}

export interface RunbookCasesOptions {
  /** Checks every row makes after its own (e.g. the fault matrix's invariants). */
  each?: (t: TestLab, run: LabRun, c: RunbookCase) => void;
}

/** One uvu test per row. */
export function runbookCases(cases: RunbookCase[], options: RunbookCasesOptions = {}): void {
  for (const c of cases) {
    test(c.name, async () => {
      const t = await TestLab.start({ scenario: c.scenario ?? 'healthy', ...(c.overrides ? { overrides: c.overrides } : {}) });
      try {
        const arranged = c.arrange?.(t) ?? {};
        const runbook = typeof c.runbook === 'string' ? c.runbook : c.runbook(t);
        const o: LabApplyOptions = { ...c.flags, sets: c.set, ...arranged };
        const running = t.apply(runbook, o);
        if (c.during) await c.during(t);
        const run = c.withinMs === undefined ? await running : await within(running, c.withinMs, `runbook apply (${c.name})`);
        checkRun(t, run, c.expect);
        options.each?.(t, run, c);
        await c.then?.(t, run);
      } finally {
        await t.stop();
      }
    });
  }
}

function checkRun(t: TestLab, run: LabRun, e: RunbookExpect): void {
  const output = run.stdout + run.stderr;
  if (typeof e.exit === 'number') assert.is(run.code, e.exit, output);
  else if (Array.isArray(e.exit)) assert.ok(e.exit.includes(run.code), `exit ${run.code}, expected one of ${e.exit.join(', ')}\n${output}`);
  else assert.ok(e.exit(run.code), `exit ${run.code}\n${output}`);
  if (e.roles) {
    const roles = t.roles();
    const sides = Object.keys(e.roles) as Side[];
    assert.equal(Object.fromEntries(sides.map((s) => [s, roles[s]])), e.roles, 'roles');
  }
  if (e.modes) assert.equal({ ...t.lab.link().sqlServerModes }, e.modes, "availability modes in SQL Server's copy");
  if (e.miMode) assert.is(t.lab.link().miReplicationMode, e.miMode, "the managed instance's replicationMode");
  if (e.link) {
    const present = t.linkPresent();
    const sides = Object.keys(e.link) as Side[];
    assert.equal(Object.fromEntries(sides.map((s) => [s, present[s]])), e.link, 'link present');
  }
  if (e.sent) assert.equal(t.statements().filter(isChange), e.sent, 'change statements sent');
  for (const re of e.notSent ?? []) {
    const hit = t.lab.statements().find((s) => re.test(s.statement));
    assert.not.ok(hit, `sent ${re}: ${hit?.side}: ${hit?.statement}`);
  }
  for (const [re, n] of e.times ?? []) assert.is(t.lab.statements().filter((s) => re.test(s.statement)).length, n, `${re} sent ${n} times`);
  if (e.nothingSent) {
    const sent = t.statements().filter((s) => !/^\w+: set /i.test(s));
    assert.equal(sent, [], `statements sent: ${sent.join('\n')}`);
  }
  if (e.armWrites) {
    const writes = t.lab.armRequests().filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path.split('?')[0]!.split('/').at(-1)}`);
    assert.equal(writes, e.armWrites, 'ARM requests other than reads');
  }
  if (e.lost !== undefined) assert.is(t.lab.ledger().lost, e.lost, 'transactions lost');
  if (e.stdout === '') assert.is(run.stdout, '', 'no run started, no prompt');
  else for (const re of e.stdout ?? []) assert.match(run.stdout, re);
  for (const re of e.notStdout ?? []) assert.not.match(run.stdout, re);
  for (const re of e.stderr ?? []) assert.match(run.stderr, re);
  if (e.noJournal) assert.equal(readdirSync(run.journalDir), [], 'no journal');
}
