// assertRole: the guard every runbook starts with. Each reachable replica is asked for its own
// role in the link with the procedure's query; two primaries (split-brain), no primary, or the
// wrong primary stop the run (exit 3) with what each replica said.
import { describeObservations, observeRoles, otherSide, ROLE_QUERY, SIDES, type RoleObservation } from '../engine/drivers/sql/roles.js';
import { defineStep, isUnknown, shown, type ReplicaSide } from '../engine/step-api/index.js';

export interface AssertRoleArgs {
  exactlyOnePrimary?: boolean;
  primary?: string;
  allowUnreachable?: boolean;
}

export default defineStep({
  type: 'assertRole',
  description:
    'Asks each replica for its own role in the link and refuses to go on unless exactly one is primary (or the named one is). Detects split-brain.',
  with: {
    type: 'object',
    additionalProperties: false,
    properties: {
      exactlyOnePrimary: {
        const: true,
        description: 'Require exactly one primary, whichever it is (the default when primary is not given).',
      },
      primary: {
        enum: ['sqlServer', 'managedInstance'],
        description:
          'The replica that must be primary: sqlServer or managedInstance, or a template such as {{steps.before.outputs.secondary}}.',
      },
      allowUnreachable: {
        type: 'boolean',
        description:
          'Judge by the reachable replicas when one cannot be reached (forced failover with the primary down); the default false refuses.',
      },
    },
    not: { required: ['exactlyOnePrimary', 'primary'] },
  },
  messages: {
    splitBrain: 'Split-brain on link {{link}}: both replicas say PRIMARY ({{said}}).',
    noPrimary: 'No replica is primary on link {{link}} ({{said}}).',
    wrongPrimary: 'Expected {{expected}} to be the primary of link {{link}}, but {{said}}.',
    unreachable: 'Cannot check the roles of link {{link}}: {{said}}. Set allowUnreachable: true to judge by the reachable replica only.',
    badPrimary: 'Expected primary to be sqlServer or managedInstance, got {{value}}.',
    roles: 'Roles of link {{link}}: {{said}}.',
  },
  impact: 'read',
  target: 'none',
  // Roles change with any failover, by this run or anyone else: a resume asks again.
  resultHolds: 'moment',
  outputs: {
    sqlServer: { description: "The SQL Server replica's link role: PRIMARY, SECONDARY, RESOLVING, NONE (no such link) or UNREACHABLE." },
    managedInstance: { description: "The managed instance's link role, with the same values." },
    primary: { description: 'The side that is primary (inferred as the unreachable side when the reachable one says SECONDARY).' },
    secondary: { description: 'The other side.' },
    unreachable: { description: 'The sides that could not be reached (a list, empty when both answered).' },
  },

  plan(ctx, args: AssertRoleArgs) {
    const expectation =
      args.primary !== undefined ? `${shown(args.primary)} is the primary` : 'Exactly one replica is primary (no split-brain)';
    const guards = [expectation];
    if (args.allowUnreachable) guards.push('An unreachable replica is tolerated');
    return {
      summary: `Check the roles of link [${ctx.inventory.link.name}] on both replicas`,
      // What run() sends (observeRoles): the query, with the link's name as its parameter.
      sql: SIDES.map((side) => ({ target: side, text: ROLE_QUERY, params: { link: ctx.inventory.link.name } })),
      guards,
    };
  },

  async run(ctx, args: AssertRoleArgs) {
    const link = ctx.inventory.link.name;
    const expected = args.primary;
    if (expected !== undefined && (isUnknown(expected) || (expected !== 'sqlServer' && expected !== 'managedInstance'))) {
      throw ctx.refuse('badPrimary', { value: shown(expected) });
    }
    const observations = await observeRoles(ctx.sql, link, ctx.signal);
    // Whatever the verdict, `primary`/`secondary` must be read again from now on.
    ctx.invalidateRoles?.();
    const said = describeObservations(observations);
    const unreachable = observations.filter((o) => !o.reachable).map((o) => o.side);
    if (unreachable.length === SIDES.length || (unreachable.length > 0 && !args.allowUnreachable)) {
      throw ctx.refuse('unreachable', { link, said });
    }
    const primaries = observations.filter((o) => o.reachable && o.role === 'PRIMARY').map((o) => o.side);
    if (primaries.length > 1) throw ctx.refuse('splitBrain', { link, said });

    let primary: ReplicaSide | undefined = primaries[0];
    if (!primary && unreachable.length === 1) {
      // The one that answered says it is not primary; the one that did not is presumed to be.
      const answered = observations.find((o) => o.reachable) as RoleObservation & { role: string };
      if (answered.role === 'SECONDARY') primary = otherSide(answered.side);
    }
    if (!primary) throw ctx.refuse('noPrimary', { link, said });
    if (expected !== undefined && primary !== expected) throw ctx.refuse('wrongPrimary', { expected, link, said });

    const roleOf = (side: ReplicaSide) => {
      const o = observations.find((x) => x.side === side);
      return o && o.reachable ? o.role : 'UNREACHABLE';
    };
    ctx.log.info(ctx.text('roles', { link, said }));
    return {
      sqlServer: roleOf('sqlServer'),
      managedInstance: roleOf('managedInstance'),
      primary,
      secondary: otherSide(primary),
      unreachable,
    };
  },

  // plan --probe: the same reads as a run; the outputs (and any refusal) are what a run would see now.
  probe(ctx, args: AssertRoleArgs) {
    return this.run(ctx, args);
  },
});
