// KILL <session id> on one replica, as a DBA ends another connection (MicrosoftDocs/sql-docs,
// docs/t-sql/language-elements/kill-transact-sql.md: "Ends a user process that is based on the
// session ID"; applies to SQL Server and the managed instance; "You can't kill your own process").
// The session ends at once: its app locks go before KILL answers, so the rest of the same batch
// can take them; its socket is closed right after the reply. Errors as SQL Server numbers them:
// 6104 for one's own session, 6106 for a session that does not exist. The UOW and
// WITH STATUSONLY forms are not emulated (the statement then goes to the engine, which refuses it).
import type { ReplyItem } from '../tds/contract.js';
import { SqlError, type StatementHook } from '../sql/contract.js';
import type { ReplicaContext } from './replica-context.js';
import { Cursor, tokenize } from './tokens.js';

export function killHook(rc: ReplicaContext): StatementHook {
  return (text, ctx) => {
    if (!/^\s*KILL\s+\d/i.test(text)) return undefined;
    const tokens = tokenize(text);
    const c = tokens ? new Cursor(tokens) : undefined;
    if (!c || !c.kw('KILL')) return undefined;
    const target = c.peek();
    if (target?.kind !== 'num' || !/^\d+$/.test(target.value)) return undefined;
    c.pos++;
    if (!c.atEnd()) return undefined;
    const sessionId = Number(target.value);
    if (sessionId === ctx.session.sessionId) throw new SqlError(6104, 'Cannot use KILL to kill your own process.');
    if (!rc.sessions.has(sessionId)) throw new SqlError(6106, `Process ID ${sessionId} is not an active process ID.`);
    rc.endSession(sessionId);
    const done: ReplyItem[] = [{ kind: 'done' }];
    return done;
  };
}
