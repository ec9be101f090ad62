// A second operator at any moment of a planned failover with dropLinkAfter. The lab pins the first
// run at each moment (lab.hold: a SQL or ARM request held before it acts, or after it acted with
// its reply kept back), a second `runbook apply` (a real CLI child that would fail the link back)
// is started, and it must be refused with exit 3 naming the first run; then the first goes on.
// Right after the FAILOVER: the moment comes when the FAILOVER has reached the lab and its role
// change has ended the sessions in the link database (two witness sessions in SalesDb, one per
// replica, have been dropped); the first run is then pinned at its next ARM request, the link
// DELETE, so the lock is tried in the state the role change left it in, while the ARM delete
// waits. (A role change drops sessions 400 ms after its reply here, so the first run is surely
// pinned before then.) In the end the first run exits 0 naming the managed instance as primary,
// and exactly one FAILOVER was ever sent.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hostname, userInfo } from 'node:os';
import { Connection } from 'tedious';
import type { Hold, HoldSpec, Lab, Side } from '../../lab/index.js';
import { waitFor } from '../helpers/cli.js';
import { ChildLab, FAILOVER, FAST, runbook } from '../helpers/child-runs.js';

interface Pin {
  /** The first run's request it is pinned on. */
  hold: HoldSpec;
  /** The moments tried while it is pinned there; `arrived` when the moment comes before the pin. */
  moments: Array<{ name: string; arrived?: (lab: ChildLab) => boolean }>;
}

/** A session in the link's database on one replica; resolves `ended` when the server drops it. */
async function witness(lab: Lab, side: Side): Promise<{ ended: () => boolean; close(): void }> {
  const ep = lab.endpoints.links[0]![side];
  const c = new Connection({
    server: 'localhost',
    authentication: { type: 'default', options: { userName: 'runbook', password: lab.env[side === 'sqlServer' ? 'LAB_SQL_PASSWORD' : 'LAB_MI_PASSWORD'] } },
    options: { port: ep.port, database: 'SalesDb', encrypt: true, trustServerCertificate: false, cryptoCredentialsDetails: { ca: lab.ca }, connectTimeout: 5000 },
  } as never);
  c.on('error', () => undefined);
  let ended = false;
  c.on('end', () => (ended = true));
  await new Promise<void>((resolve, reject) => c.connect((error) => (error ? reject(error) : resolve())));
  return { ended: () => ended, close: () => c.close() };
}

const LSN_READ = /end_of_log_lsn AS varchar/;
const ROLE_CHECK = /AS link_name/;
const DROP_DAG = /^\s*DROP AVAILABILITY GROUP/;
const pins: Pin[] = [
  { hold: { match: ROLE_CHECK }, moments: [{ name: 'before: the first role check' }] },
  { hold: { match: /ProductVersion/ }, moments: [{ name: 'sql-version' }] },
  { hold: { match: LSN_READ, side: 'sqlServer' }, moments: [{ name: 'caught-up: the first LSN read' }] },
  { hold: { match: /MODIFY AVAILABILITY GROUP ON/, after: true }, moments: [{ name: 'sync-commit: MODIFY done, its reply held' }] },
  { hold: { match: /SELECT ar\.replica_server_name, ar\.availability_mode_desc/ }, moments: [{ name: 'sync-verified' }] },
  { hold: { match: LSN_READ, side: 'sqlServer' }, moments: [{ name: 'still-caught-up: an LSN read' }] },
  {
    hold: { arm: true, match: /^DELETE \/subscriptions\/.*\/distributedAvailabilityGroups\/dag1$/ },
    moments: [
      {
        name: 'failover: the FAILOVER reached the lab and its role change dropped the sessions in the link database',
        arrived: (lab) => lab.count(FAILOVER) > 0 && witnesses.every((w) => w.ended()),
      },
      { name: 'remove-link: the ARM DELETE of the link reached the lab' },
    ],
  },
  { hold: { match: DROP_DAG, side: 'sqlServer' }, moments: [{ name: 'drop-dag: DROP AVAILABILITY GROUP' }] },
];
let witnesses: Array<{ ended: () => boolean; close(): void }> = [];

test('a second apply at every moment of the first, right after its FAILOVER and during its ARM delete too, is refused (exit 3) naming the first; the first exits 0 with the MI primary; one FAILOVER', async () => {
  const lab = await ChildLab.start({ dropDelayMs: 400 });
  try {
    witnesses = [await witness(lab.lab, 'sqlServer'), await witness(lab.lab, 'managedInstance')];
    let hold: Hold = lab.lab.hold(pins[0]!.hold);
    const first = lab.apply(runbook('planned-failover'), [
      '--set', 'stoppedFor=200ms', '--set', 'stableFor=300ms', '--set', 'pollInterval=50ms', '--set', 'lsnTimeout=60s', '--set', 'dropLinkAfter=true',
    // Pinned through ten moments, each with a second CLI started and refused: under load that
    // outlasts the helper's 40 s kill, and a killed first run frees the lock the second then takes.
    ], 110_000);
    const firstEnded = first.done.then((r) => {
      throw new Error(`the first run ended while the test waited for a moment of it: exit ${r.code}\n${r.stdout}${r.stderr}`);
    });
    firstEnded.catch(() => undefined);
    let firstRun: string | undefined;
    const tried: string[] = [];
    for (const [i, pin] of pins.entries()) {
      for (const moment of pin.moments) {
        const arrived = moment.arrived;
        await Promise.race([arrived ? waitFor(() => arrived(lab), 20_000) : hold.reached, firstEnded]);
        firstRun ??= lab.runIds()[0];
        const second = await lab.applyInProcess(runbook('planned-failover'), [...FAST, '--set', 'direction=toSqlServer']);
        assert.is(second.code, 3, `${moment.name}: ${second.stdout}${second.stderr}`);
        assert.match(second.stderr, new RegExp(`locked by run ${firstRun} of ${userInfo().username} on host ${hostname()}, since \\d{4}-`), moment.name);
        // The first run's lock is on both replicas, in master, the whole time.
        const locks = lab.lab.model.applocks.rows().map((r) => [r.replica, r.database, r.holder.programName.split(' ')[1]]);
        assert.equal(locks.sort(), [['sql01', 'master', firstRun], ['sqlmi1', 'master', firstRun]], moment.name);
        tried.push(moment.name);
      }
      // The next pin is set before this one lets go, so the first run cannot slip past it.
      const next = pins[i + 1];
      const current = hold;
      if (next) hold = lab.lab.hold(next.hold);
      current.release();
    }
    const r = await first.done;
    assert.is(r.code, 0, r.stdout + r.stderr);
    assert.is(tried.length, pins.flatMap((p) => p.moments).length);
    assert.match(r.stdout, /Point the applications at \S+ \(managed instance sqlmi1, now the primary of link dag1\)/);
    assert.is(lab.roles().managedInstance, 'PRIMARY');
    assert.is(lab.count(FAILOVER), 1, 'exactly one FAILOVER was sent');
    assert.is(lab.runIds().length, tried.length + 1);
  } finally {
    for (const w of witnesses) w.close();
    await lab.stop();
  }
});

test.run();
