// A sqlExec script that leaves session state for a later step (USE, SET options, an open
// transaction, a session app lock...): a warning, since what a single run's one session keeps, a
// wave's shared sessions drop between steps (engine/drivers/sql/session-state.ts says why).
import { diag } from '../../core/diagnostics.js';
import { sessionStateLeft } from '../../drivers/sql/session-state.js';
import type { RuleContext } from './context.js';
import { sqlTexts } from './sql.js';

export function sessionStateNotKept(ctx: RuleContext): void {
  for (const [step, field, pointer, text] of sqlTexts(ctx)) {
    if (field !== 'sql') continue;
    const left = sessionStateLeft(text);
    if (left.length === 0) continue;
    const id = step.id ?? `#${step.index + 1}`;
    ctx.diagnostics.push(diag(
      'session-state-not-kept',
      `Step \`${id}\`'s script leaves state in its session for what runs after it: ${left.join(', ')}. A later step and the step's verify do not see it in a wave, whose steps borrow shared sessions reset between steps (back to master, default SET options, no transaction, session app locks released), while a single run keeps one session: the runbook would act differently. Do what each step needs within that step (three-part names rather than USE; COMMIT what it begins).`,
      { file: ctx.file, ...ctx.doc.locate(pointer), path: pointer },
      { severity: 'warning' },
    ));
  }
}
