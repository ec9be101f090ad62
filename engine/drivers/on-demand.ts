// The driver calls the step types make while they run, each loading the module that makes it on
// the first call: step modules are loaded by `validate` and `plan` too, which send nothing, and so
// must load no driver module (start-up budget, bench/startup; test/engine/commands/no-drivers.test.ts).
// What the steps need at load time is in the drivers' pure modules (arm/link-ids.ts,
// arm/operation-in-progress.ts, arm/errors.ts, sql/connect-failure.ts, sql/checks.ts, ...).
type Pool = typeof import('./sql/pool.js');
type Client = typeof import('./arm/client.js');
type Lro = typeof import('./arm/lro.js');
type LinkOperation = typeof import('./arm/link-operation.js');
type LinkAction = typeof import('./arm/link-action.js');

/** sql/pool.ts runSql: one statement or batch, cancelled when `signal` aborts. */
export const runSql: Pool['runSql'] = async (...args) => (await import('./sql/pool.js')).runSql(...args);

/** sql/server-sessions.ts inOneSession: every request `work` sends on `pool` on one session (a wave's sessions are shared). */
export async function inOneSession<T>(pool: import('mssql').ConnectionPool, work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  return (await import('./sql/server-sessions.js')).inOneSession(pool, work, signal);
}

/** arm/client.ts sendRaw: one request on the client's pipeline. */
export const sendRaw: Client['sendRaw'] = async (...args) => (await import('./arm/client.js')).sendRaw(...args);
/** arm/client.ts getLinkDetails: GET the link. */
export const getLinkDetails: Client['getLinkDetails'] = async (...args) => (await import('./arm/client.js')).getLinkDetails(...args);
/** arm/client.ts getInstanceDetails: GET the managed instance. */
export const getInstanceDetails: Client['getInstanceDetails'] = async (...args) => (await import('./arm/client.js')).getInstanceDetails(...args);
/** arm/lro.ts followOperation: a long-running operation followed to its end. */
export const followOperation: Lro['followOperation'] = async (...args) => (await import('./arm/lro.js')).followOperation(...args);
/** arm/link-operation.ts waitForLinkOperation: the link polled until no operation is in progress on it. */
export const waitForLinkOperation: LinkOperation['waitForLinkOperation'] = async (...args) => (await import('./arm/link-operation.js')).waitForLinkOperation(...args);
/** arm/link-action.ts postLinkAction: failover, setRole or a mode change, sent once and followed. */
export const postLinkAction: LinkAction['postLinkAction'] = async (...args) => (await import('./arm/link-action.js')).postLinkAction(...args);
