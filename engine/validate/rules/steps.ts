// Rules about the steps themselves: unique ids, known types, `target:` where the type wants it.
import { didYouMean } from '../../core/diagnostics.js';
import { report, type RuleContext } from './context.js';

export function duplicateStepIds(ctx: RuleContext): void {
  const first = new Map<string, number>();
  for (const step of ctx.steps) {
    if (step.id === undefined) continue;
    const earlier = first.get(step.id);
    if (earlier === undefined) {
      first.set(step.id, step.index);
      continue;
    }
    const line = ctx.doc.locate(`/steps/${earlier}/id`).line;
    report(ctx, 'duplicate-step-id', `Step id \`${step.id}\` is already used by the step at line ${line}; step ids must be unique.`, `${step.pointer}/id`);
  }
}

export function knownStepTypes(ctx: RuleContext): void {
  for (const step of ctx.steps) {
    if (step.type === undefined || ctx.knownTypes.includes(step.type)) continue;
    const hint = didYouMean(step.type, ctx.knownTypes) || (ctx.knownTypes.length ? ' Run `runbook list-steps` to see the step types.' : '');
    report(ctx, 'unknown-step-type', `Unknown step type \`${step.type}\`.${hint}`, `${step.pointer}/type`);
  }
}

export function stepTargets(ctx: RuleContext): void {
  for (const step of ctx.steps) {
    const def = step.type === undefined ? undefined : ctx.definitions.get(step.type);
    if (!def) continue;
    const has = step.value.target !== undefined;
    if (def.target === 'none' && has) {
      report(ctx, 'target-not-allowed', `Step type \`${def.type}\` takes no \`target:\`; remove it.`, `${step.pointer}/target`, 'key');
    } else if (def.target === 'required' && !has) {
      report(ctx, 'target-required', `Step type \`${def.type}\` needs a \`target:\` (sqlServer, managedInstance, primary or secondary).`, step.pointer, 'key');
    }
  }
}
