// notify: says something the operator must act on once the run is over, typically which
// endpoint the applications must now connect to (the procedure leaves repointing connection
// strings to a person). The endpoint comes from the inventory: the managed instance's FQDN (or
// its connection host) or SQL Server's host. Warnings also land in the run's summary.
import { defineStep, formatElapsed, isUnknown, sentence, shown, type Inventory, type ReplicaSide } from '../engine/step-api/index.js';

export interface NotifyArgs {
  message: string;
  endpointOf?: string;
  level?: 'info' | 'warn';
  elapsedSince?: string;
}

/** `host` or `host,port` as a SQL Server connection string writes it; the MI's FQDN when the inventory has one. */
export function endpointOf(inventory: Inventory, side: ReplicaSide): { endpoint: string; what: string } {
  const { link } = inventory;
  if (side === 'managedInstance') {
    const mi = link.managedInstance;
    const c = mi.connection;
    const host = mi.fqdn ?? c.host;
    const port = mi.fqdn ? undefined : c.port;
    return { endpoint: port && port !== 1433 ? `${host},${port}` : host, what: `managed instance ${mi.name}, now the primary of link ${link.name}` };
  }
  const c = link.sqlServer.connection;
  return {
    endpoint: c.port && c.port !== 1433 ? `${c.host},${c.port}` : c.host,
    what: `SQL Server ${link.sqlServer.name}, now the primary of link ${link.name}`,
  };
}

export default defineStep({
  type: 'notify',
  description:
    'Tells the operator something to act on after the run, optionally the endpoint the applications must now connect to; warnings are repeated in the run summary. Changes nothing.',
  with: {
    type: 'object',
    additionalProperties: false,
    required: ['message'],
    properties: {
      message: { type: 'string', minLength: 1, description: 'What to tell the operator.' },
      endpointOf: {
        type: 'string',
        pattern: '^(sqlServer|managedInstance|\\{\\{.*\\}\\})$',
        description:
          'Add the endpoint applications must use for this side (sqlServer or managedInstance, or a template such as {{steps.after.outputs.primary}}), taken from the inventory.',
      },
      level: { enum: ['info', 'warn'], description: 'warn (the default) also repeats the message in the run summary; info only logs it.' },
      elapsedSince: {
        type: 'string',
        description:
          "A time (ISO 8601), usually an earlier step's, e.g. {{steps.workload-stopped.outputs.confirmedAt}}: the message is followed by how long ago it was, measured when this step runs.",
      },
    },
  },
  messages: {
    badSide: 'Expected endpointOf to be sqlServer or managedInstance, got {{value}}.',
    badTime: 'Expected elapsedSince to be a time such as 2025-01-31T12:00:00.000Z, got {{value}}.',
    elapsed: 'That was {{elapsed}} (since {{since}}).',
    endpoint: 'Point the applications at {{endpoint}} ({{what}}).',
  },
  impact: 'read',
  target: 'none',
  // A message, not a reading of the link: a resume does not repeat it.
  resultHolds: 'run',
  outputs: {
    message: { description: 'The full text told to the operator.' },
    endpoint: { description: 'The endpoint named (host or host,port), or null when endpointOf was not given.' },
    side: { description: 'The side whose endpoint was named, or null.' },
    elapsedMs: { description: 'With elapsedSince: the milliseconds from that time to this step; otherwise null.' },
  },

  plan(ctx, args: NotifyArgs) {
    let tail = '';
    if (args.endpointOf !== undefined) {
      if (isUnknown(args.endpointOf)) tail = '; name the endpoint of the new primary (known after apply)';
      else if (args.endpointOf === 'sqlServer' || args.endpointOf === 'managedInstance') {
        tail = `; ${ctx.text('endpoint', endpointOf(ctx.inventory, args.endpointOf)).replace(/\.$/, '')}`;
      }
    }
    const since = args.elapsedSince === undefined ? '' : `, with the time since ${isUnknown(args.elapsedSince) ? '(known after apply)' : shown(args.elapsedSince)}`;
    return { summary: `Tell the operator: ${shown(args.message).trim().replace(/[.]$/, '')}${since}${tail}` };
  },

  async run(ctx, args: NotifyArgs) {
    let side: ReplicaSide | null = null;
    let endpoint: string | null = null;
    let text = sentence(args.message);
    let elapsedMs: number | null = null;
    if (args.elapsedSince !== undefined) {
      const since = Date.parse(args.elapsedSince);
      if (!/^\d{4}-\d\d-\d\dT/.test(args.elapsedSince) || Number.isNaN(since)) throw ctx.fail('badTime', { value: shown(args.elapsedSince) });
      elapsedMs = Math.max(0, Date.now() - since);
      text = `${text} ${ctx.text('elapsed', {
        elapsed: formatElapsed(elapsedMs),
        since: new Date(since).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC'),
      })}`;
    }
    if (args.endpointOf !== undefined) {
      if (args.endpointOf !== 'sqlServer' && args.endpointOf !== 'managedInstance') {
        throw ctx.fail('badSide', { value: shown(args.endpointOf) });
      }
      side = args.endpointOf;
      const e = endpointOf(ctx.inventory, side);
      endpoint = e.endpoint;
      text = `${text} ${ctx.text('endpoint', e)}`;
    }
    if ((args.level ?? 'warn') === 'warn') ctx.log.warn(text);
    else ctx.log.info(text);
    return { message: text, endpoint, side, elapsedMs };
  },
});
