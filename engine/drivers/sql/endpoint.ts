// Where a replica listens, as the inventory declares it: pure, so validate can compare servers
// without loading the connection code.
import type { ConnectionSpec } from '../../core/types.js';

export const DEFAULT_PORT = 1433;

export function endpointOf(spec: Pick<ConnectionSpec, 'host' | 'port'>): string {
  return `${spec.host}:${spec.port ?? DEFAULT_PORT}`;
}

/** The endpoint as DNS and TCP see it: host names compare without regard to case. */
export function endpointKey(spec: Pick<ConnectionSpec, 'host' | 'port'>): string {
  return endpointOf(spec).toLowerCase();
}
