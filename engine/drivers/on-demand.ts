// The driver calls the step types make while they run, each loading the module that makes it on
// the first call: step modules are loaded by `validate` and `plan` too, which send nothing, and so
// must load no driver module (start-up budget, bench/startup; test/engine/commands/no-drivers.test.ts).
// What the steps need at load time is in the drivers' pure modules (arm/link-ids.ts,
// arm/operation-in-progress.ts, arm/errors.ts, sql/connect-failure.ts, sql/checks.ts, ...).
//
// `apply` loads them all before its first change (loadDrivers): a module first loaded after a change
// was sent could be one of a newer build (runbook rebuilt or upgraded while the run went on), which
// the linked modules refuse (engine/build/link/runtime.ts), and a step refused after its change had
// acted (closing note r6: armDeleteLink sent the DELETE, then loaded arm/lro.js and was refused).
type Pool = typeof import('./sql/pool.js');
type Client = typeof import('./arm/client.js');
type Lro = typeof import('./arm/lro.js');
type LinkOperation = typeof import('./arm/link-operation.js');
type LinkAction = typeof import('./arm/link-action.js');

/**
 * Every module a call below loads, by what it is for. (Packages are not named here: a linked module's
 * import() of a package becomes a static import of linked.js, which validate and plan load; the
 * modules load theirs: mssql when the run connects, the ARM libraries by arm/client.ts.)
 */
const sqlModules = {
  pool: () => import('./sql/pool.js'),
  serverSessions: () => import('./sql/server-sessions.js'),
};
const armModules = {
  client: () => import('./arm/client.js'),
  lro: () => import('./arm/lro.js'),
  linkOperation: () => import('./arm/link-operation.js'),
  linkAction: () => import('./arm/link-action.js'),
};

/** What a run may call: ARM only when a step may call it, the Azure identity library only when its credential needs it. */
export interface DriversNeeded {
  arm: boolean;
  armIdentity: boolean;
}

/**
 * Loads every module the calls below may load later, and the libraries they load inside their
 * calls, so that none is first loaded after a change. Rejects as the module does (e.g. the build's
 * refusal of a module of another build): then nothing was sent.
 */
export async function loadDrivers(needed: DriversNeeded): Promise<void> {
  await Promise.all([...Object.values(sqlModules), ...(needed.arm ? Object.values(armModules) : [])].map((load) => load()));
  if (needed.arm) await (await armModules.client()).loadArmLibraries(needed.armIdentity);
}

/** sql/pool.ts runSql: one statement or batch, cancelled when `signal` aborts. */
export const runSql: Pool['runSql'] = async (...args) => (await sqlModules.pool()).runSql(...args);

/** sql/server-sessions.ts inOneSession: every request `work` sends on `pool` on one session (a wave's sessions are shared). */
export async function inOneSession<T>(pool: import('mssql').ConnectionPool, work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  return (await sqlModules.serverSessions()).inOneSession(pool, work, signal);
}

/** arm/client.ts sendRaw: one request on the client's pipeline. */
export const sendRaw: Client['sendRaw'] = async (...args) => (await armModules.client()).sendRaw(...args);
/** arm/client.ts getLinkDetails: GET the link. */
export const getLinkDetails: Client['getLinkDetails'] = async (...args) => (await armModules.client()).getLinkDetails(...args);
/** arm/client.ts getInstanceDetails: GET the managed instance. */
export const getInstanceDetails: Client['getInstanceDetails'] = async (...args) => (await armModules.client()).getInstanceDetails(...args);
/** arm/lro.ts followOperation: a long-running operation followed to its end. */
export const followOperation: Lro['followOperation'] = async (...args) => (await armModules.lro()).followOperation(...args);
/** arm/link-operation.ts waitForLinkOperation: the link polled until no operation is in progress on it. */
export const waitForLinkOperation: LinkOperation['waitForLinkOperation'] = async (...args) => (await armModules.linkOperation()).waitForLinkOperation(...args);
/** arm/link-action.ts postLinkAction: failover, setRole or a mode change, sent once and followed. */
export const postLinkAction: LinkAction['postLinkAction'] = async (...args) => (await armModules.linkAction()).postLinkAction(...args);
