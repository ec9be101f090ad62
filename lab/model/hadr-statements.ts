// ALTER / DROP AVAILABILITY GROUP as the link model interprets them on one replica. A role change
// ends the sessions whose current database is the link's availability database, on the replicas
// whose role changed; sessions in master stay (the sources are cited at dropLinkDatabaseSessions
// in lab-model.ts).
import type { ReplyItem } from '../tds/contract.js';
import type { StatementHook } from '../sql/contract.js';
import { hadrErrors } from './errors.js';
import type { ReplicaContext } from './replica-context.js';
import { Cursor, tokenize } from './tokens.js';
import { otherSide, type AvailabilityMode, type Side } from './types.js';

const done: ReplyItem[] = [{ kind: 'done' }];

export function hadrHook(rc: ReplicaContext): StatementHook {
  return (text) => {
    if (/^\s*ALTER\s+DATABASE\b[\s\S]*\bSET\s+HADR\b/i.test(text)) return setHadr(rc, text);
    if (!/^\s*(ALTER|DROP)\s+AVAILABILITY\s+GROUP\b/i.test(text)) return undefined;
    const tokens = tokenize(text);
    if (!tokens) throw hadrErrors.syntax(text.slice(0, 20));
    const c = new Cursor(tokens);
    if (c.kw('DROP', 'AVAILABILITY', 'GROUP')) return dropGroup(rc, c);
    c.kw('ALTER', 'AVAILABILITY', 'GROUP');
    const name = c.name();
    if (name === undefined) throw hadrErrors.syntax(c.near());
    rc.link.advance();
    const link = rc.link;
    const me = link.replicas[rc.side];
    const isDag = me.dagPresent && name.toLowerCase() === link.id.name.toLowerCase();
    const isLocalAg = me.agPresent && name.toLowerCase() === me.memberName.toLowerCase();
    if (!isDag && !isLocalAg) throw hadrErrors.noSuchGroup('alter', name);
    if (!isDag) return undefined; // other ALTERs of the local AG: the engine answers (unsupported)
    if (c.kw('FAILOVER') && c.atEnd()) return plannedFailover(rc, link.id.name);
    if (c.kw('FORCE_FAILOVER_ALLOW_DATA_LOSS') && c.atEnd()) return forcedFailover(rc, link.id.name);
    if (c.kw('SET')) {
      if (c.punct('(') && c.kw('ROLE') && c.punct('=') && c.kw('SECONDARY') && c.punct(')') && c.atEnd()) {
        return demote(rc, link.id.name);
      }
      return undefined;
    }
    if (c.kw('MODIFY', 'AVAILABILITY', 'GROUP', 'ON')) return modifyModes(rc, c, link.id.name);
    return undefined;
  };
}

function plannedFailover(rc: ReplicaContext, dag: string): ReplyItem[] {
  const link = rc.link;
  const me = link.replicas[rc.side];
  const partner = link.replicas[otherSide(rc.side)];
  if (me.role === 'PRIMARY' && !link.supportsLinkFailover) throw hadrErrors.alreadyPrimary(dag);
  if (me.role !== 'PRIMARY') {
    throw hadrErrors.wrongState(dag, 'FAILOVER', 'A link FAILOVER is issued on the current primary replica.');
  }
  if (partner.role === 'PRIMARY') {
    throw hadrErrors.notSynchronized(dag, partner.memberName);
  }
  if (!link.synchronized()) throw hadrErrors.notSynchronized(dag, partner.memberName);
  link.plannedFailover();
  rc.dropLinkDatabaseSessions(['sqlServer', 'managedInstance']);
  return done;
}

function forcedFailover(rc: ReplicaContext, dag: string): ReplyItem[] {
  const me = rc.link.replicas[rc.side];
  if (me.role === 'PRIMARY') throw hadrErrors.alreadyPrimary(dag);
  // "You can fail over the link by using Transact-SQL starting with SQL Server 2022 CU13"
  // (managed-instance-link-failover-how-to.md); before that a failover breaks the link.
  if (!rc.link.supportsLinkFailover) throw hadrErrors.noTsqlLinkFailover(dag, rc.link.id.sqlVersion);
  rc.link.forceFailover(rc.side);
  rc.dropLinkDatabaseSessions([rc.side]);
  return done;
}

function demote(rc: ReplicaContext, dag: string): ReplyItem[] {
  const me = rc.link.replicas[rc.side];
  if (me.role !== 'PRIMARY') {
    throw hadrErrors.wrongState(dag, 'SET (ROLE = SECONDARY)', 'The local replica already is a secondary replica.');
  }
  rc.link.demote(rc.side);
  rc.dropLinkDatabaseSessions([rc.side]);
  return done;
}

function modifyModes(rc: ReplicaContext, c: Cursor, dag: string): ReplyItem[] {
  if (rc.side === 'managedInstance') throw hadrErrors.notSupportedOnMi('MODIFY AVAILABILITY GROUP');
  const link = rc.link;
  const changes: Array<[Side, AvailabilityMode]> = [];
  do {
    const member = c.name(true);
    if (member === undefined) throw hadrErrors.syntax(c.near());
    if (!(c.kw('WITH') && c.punct('(') && c.kw('AVAILABILITY_MODE') && c.punct('='))) throw hadrErrors.syntax(c.near());
    const mode = c.kw('SYNCHRONOUS_COMMIT') ? 'SYNCHRONOUS_COMMIT' : c.kw('ASYNCHRONOUS_COMMIT') ? 'ASYNCHRONOUS_COMMIT' : undefined;
    if (!mode || !c.punct(')')) throw hadrErrors.syntax(c.near());
    const side = (['sqlServer', 'managedInstance'] as Side[]).find(
      (s) => link.replicas[s].memberName.toLowerCase() === member.toLowerCase(),
    );
    if (!side) throw hadrErrors.noSuchMember(member, dag);
    changes.push([side, mode]);
  } while (c.punct(','));
  if (!c.atEnd()) throw hadrErrors.syntax(c.near());
  link.advance();
  // SQL Server's copy of the DAG only; the MI's copy is ARM's replicationMode.
  for (const [side, mode] of changes) link.sqlServerModes[side] = mode;
  link.changed();
  return done;
}

function dropGroup(rc: ReplicaContext, c: Cursor): ReplyItem[] {
  const name = c.name();
  if (name === undefined || !c.atEnd()) throw hadrErrors.syntax(c.near());
  const me = rc.link.replicas[rc.side];
  if (me.dagPresent && name.toLowerCase() === rc.link.id.name.toLowerCase()) {
    rc.link.removeDag(rc.side);
    return done;
  }
  if (me.agPresent && name.toLowerCase() === me.memberName.toLowerCase() && rc.side === 'sqlServer') {
    me.agPresent = false;
    rc.link.changed();
    return done;
  }
  throw hadrErrors.noSuchGroup('drop', name);
}

/**
 * ALTER DATABASE [db] SET HADR RESUME: resumes a suspended secondary database (the only SET HADR
 * form the lab models; SUSPEND and the others are not ours). Not on the managed instance: "The SET
 * HADR clause of the ALTER DATABASE statement" is not supported there (MicrosoftDocs/sql-docs,
 * transact-sql-tsql-differences-sql-server.md).
 */
function setHadr(rc: ReplicaContext, text: string): ReplyItem[] {
  const tokens = tokenize(text);
  if (!tokens) throw hadrErrors.syntax('ALTER');
  const c = new Cursor(tokens);
  c.kw('ALTER', 'DATABASE');
  const name = c.name();
  if (name === undefined || !c.kw('SET', 'HADR')) throw hadrErrors.syntax(c.near());
  if (rc.side === 'managedInstance') throw hadrErrors.notSupportedOnMi('SET HADR');
  if (!c.kw('RESUME') || !c.atEnd()) throw hadrErrors.syntax(c.near());
  const link = rc.link;
  if (name.toLowerCase() !== link.id.database.toLowerCase()) throw hadrErrors.noSuchDatabase(name);
  link.advance();
  link.resume(rc.side);
  return done;
}
