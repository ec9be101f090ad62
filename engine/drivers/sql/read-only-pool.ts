// The pool a step declared `impact: read` gets (a run's read step, every probe of `plan --probe`
// and of apply before its question): what it sends must be a plain read as the engine's scanner
// reads it, the rule sqlExec applies to a read script ("the declaration is the author's, the check
// is ours"). A plugin that declares a read and sends an ALTER is refused before anything is sent,
// rather than change the link unlocked and unconfirmed (attack r6safety finding 5). `intercept`
// is the proxy both this and the change step's pool (engine/apply/step-pool.ts) are made with.
import { GuardRefusal } from '../../core/errors.js';
import { readOnlyProblem } from './checks.js';

export type Method = (...args: unknown[]) => unknown;

/**
 * `target` seen through a proxy: `wrap(key, method)` may replace a method; every other method is
 * bound to the object itself, and one that returns the object (a chained call) returns the proxy.
 */
export function intercept<T extends object>(target: T, wrap: (key: string | symbol, method: Method, proxy: T) => Method | undefined): T {
  const proxy: T = new Proxy(target, {
    get(t, key) {
      const v = Reflect.get(t, key, t) as unknown;
      // The pool's settings are the run's, read by every later step and by the engine's own
      // requests: a copy each time, never the object itself (attack r7fix finding 11: a read step set
      // config.stream, and the engine's own lock check's refusal became an unhandled 'error' event).
      // Not frozen: a plugin may build its own pool from it (trusted code), which mssql completes in place.
      if (key === 'config' && v !== null && typeof v === 'object') return copyOf(v);
      if (typeof v !== 'function') return v;
      const method = (...args: unknown[]) => {
        const r = (v as Method).apply(t, args);
        return r === t ? proxy : r;
      };
      return wrap(key, method, proxy) ?? method;
    },
  });
  return proxy;
}

function copyOf(value: unknown, seen = new Map<object, unknown>()): unknown {
  if (value === null || typeof value !== 'object') return value;
  // Plain objects and arrays are copied; anything else (a Buffer of a CA, a class instance) is kept as it is.
  const proto = Object.getPrototypeOf(value) as unknown;
  if (!Array.isArray(value) && proto !== Object.prototype && proto !== null) return value;
  if (seen.has(value)) return seen.get(value);
  const copy: Record<string | symbol, unknown> = Array.isArray(value) ? ([] as unknown as Record<string, unknown>) : {};
  seen.set(value, copy);
  for (const key of Reflect.ownKeys(value)) copy[key] = copyOf((value as Record<string | symbol, unknown>)[key], seen);
  return copy;
}

/**
 * A pool proxy's own ways to a connection: `acquire` (what mssql's Request, Transaction and
 * PreparedStatement built on the pool itself, `new sql.Request(pool)`, call to get one) is refused
 * with `refusal()`, since what such a request sends passes no proxy; `connect` resolves to the proxy,
 * not the pool behind it (attack r6safety finding 1). `close` does nothing: the connection is the
 * run's, which its later steps use and the run closes at its end; a step that closes "its" pool, as
 * mssql's README teaches (`finally { await pool.close() }`), must not end it for them (attack r7safe
 * finding 6: the next change step's batch was never sent, and the run ended "outcome unknown").
 * Undefined for any other method.
 */
export function sealedPoolMethod(key: string | symbol, method: Method, proxy: object, refusal: () => Error): Method | undefined {
  if (key === 'acquire') {
    return (...args) => {
      const callback = args.find((a) => typeof a === 'function') as ((error: Error) => void) | undefined;
      if (!callback) return Promise.reject(refusal());
      process.nextTick(callback, refusal());
      return proxy;
    };
  }
  if (key === 'close') {
    return (...args) => {
      const callback = args.find((a) => typeof a === 'function') as ((error: null) => void) | undefined;
      if (!callback) return Promise.resolve();
      process.nextTick(callback, null);
      return proxy;
    };
  }
  if (key === 'connect') {
    return (...args) => {
      const callback = args[0];
      if (typeof callback === 'function') {
        method((error: unknown) => (callback as Method)(error, proxy));
        return proxy;
      }
      return (method() as Promise<unknown>).then(() => proxy);
    };
  }
  return undefined;
}

function notARead(step: string, side: string, why: string): GuardRefusal {
  return new GuardRefusal(
    'notARead',
    { step, side, why },
    `Step ${step} is declared impact: read, but its request to ${side} ${why}; nothing of it was sent. A step that changes anything must declare impact: change.`,
  );
}

/** A read step's request: each batch is one string of T-SQL that is a plain read, or it is refused unsent. */
export function readOnlyRequest(request: object, step: string, side: string): object {
  return intercept(request, (k, send) => {
    if (k === 'execute') return () => { throw notARead(step, side, 'called a procedure by RPC (request.execute), which cannot be shown to only read'); };
    if (k === 'bulk') return () => { throw notARead(step, side, 'was a bulk load'); };
    if (k !== 'query' && k !== 'batch') return undefined;
    return (...a) => {
      if (typeof a[0] !== 'string' || a.length > 1) throw notARead(step, side, 'was not one string of T-SQL answered by a promise (a tagged template or a callback), so it cannot be shown to only read');
      const problem = readOnlyProblem(a[0]);
      if (problem) throw notARead(step, side, `is not a plain read: ${problem.replace(/\.$/, '')}`);
      return send(...a);
    };
  });
}

/**
 * `pool` for a read step: requests as readOnlyRequest, `pool.query()`/`batch()` routed through them
 * (mssql makes those a Request of the pool itself, past the proxy), transaction objects refused.
 * `wrap`: what else each request goes through once it passed (the run journals it).
 */
export function readOnlyPool<P extends object>(pool: P, step: string, side: string, wrap: (request: object) => object = (r) => r): P {
  return intercept(pool, (key, method, proxy) => {
    if (key === 'query' || key === 'batch') return (...args) => ((proxy as unknown as Record<string, Method>).request!() as Record<string, Method>)[key]!(...args);
    if (key === 'transaction') return () => { throw notARead(step, side, 'came from a transaction object'); };
    const sealed = sealedPoolMethod(key, method, proxy, () => notARead(step, side, 'came from a Request, Transaction or PreparedStatement made on the pool itself (new sql.Request(pool)), which the run cannot see; use pool.request()'));
    if (sealed) return sealed;
    if (key === 'request') return (...args) => readOnlyRequest(wrap(method(...args) as object), step, side);
    return undefined;
  });
}
