// The text of a probed plan: the usual plan, then "Observed state" (what each replica and ARM
// said, with reads only) and "Predicted path" (which steps a run would take from this state).
import type { ProbedPlan, PredictedStep } from '../plan/probe.js';
import type { ObservedState } from '../plan/observe.js';
import { planTextParts, type PlanTextOptions } from './plan-text.js';
import { plainStyle, type Style } from './style.js';
import { ESCAPES_NOTE, visibleData } from './visible.js';
import { shown } from '../step-api/args.js';

export function renderObservedText(o: ObservedState, style: Style = plainStyle): string[] {
  const out = [style.bold('Observed state') + `  (read at ${o.at}; reads only)`];
  for (const [side, r] of Object.entries(o.replicas)) {
    if (!r.reachable) {
      out.push(r.setUpError ? `  ${side}: CANNOT BE READ, set-up error (${r.error ?? 'no answer'})` : `  ${side}: UNREACHABLE (${r.error ?? 'no answer'})`);
      continue;
    }
    out.push(`  ${side}: link role ${r.role ?? '?'}, version ${r.version ?? '?'}`);
    if (r.modes) out.push(`    availability modes: ${r.modes.length ? r.modes.join(', ') : 'none (no link on this side)'}`);
    if (r.endOfLogLsn !== undefined) out.push(`    end of log LSN ${r.endOfLogLsn ?? 'NULL'}, last hardened LSN ${r.hardenedLsn ?? 'NULL'}`);
    if (r.error) out.push(`    could not read everything: ${r.error}`);
  }
  const roles = Object.values(o.replicas).filter((r) => r.reachable && r.role === 'PRIMARY').length;
  if (roles > 1) out.push(style.red(style.bold('  !! SPLIT-BRAIN: both replicas say PRIMARY.')));
  if (o.lsnGap) {
    const gap = o.lsnGap.gap === null ? 'unknown' : o.lsnGap.gap === '0' ? '0 (in sync now)' : o.lsnGap.gap;
    out.push(`  LSN gap (primary ${o.lsnGap.primary} end of log - secondary ${o.lsnGap.secondary} hardened): ${gap}`);
  }
  const a = o.arm;
  out.push(`  ARM link: ${!a.read ? `not read (${a.error ?? 'no answer'})` : !a.exists ? 'does not exist' : `exists; managed instance ${a.instanceLinkRole ?? '?'}, SQL Server ${a.partnerLinkRole ?? '?'}, replication ${a.replicationMode ?? '?'}`}`);
  return out;
}

function label(s: PredictedStep, style: Style): string {
  switch (s.prediction) {
    case 'run':
      return s.impact === 'read' ? style.green('runs') : s.impact === 'dataLoss' ? style.red(style.bold('runs [DATA LOSS]')) : style.yellow(`runs [${s.impact}]`);
    case 'skip':
      return style.dim('skipped');
    case 'refused':
      return style.red(style.bold('REFUSES'));
    case 'fails':
      return style.red(style.bold('FAILS'));
    case 'not reached':
      return style.dim('not reached');
    default:
      return 'decided at run time';
  }
}

export function renderPredictedText(p: ProbedPlan['predicted'], style: Style = plainStyle): string[] {
  const out = [style.bold('Predicted path') + '  (from the observed state; change steps are never probed)'];
  for (const s of p.steps) {
    const probed = s.probed ? ' (probed)' : '';
    out.push(`  ${String(s.index).padStart(2, ' ')}. ${s.id}  ${label(s, style)}${probed}`);
    for (const note of s.notes) out.push(`        ${note}`);
    const known = Object.entries(s.outputs ?? {});
    if (known.length) out.push(`        outputs: ${known.map(([k, v]) => `${k}=${shown(v)}`).join(', ')}`);
  }
  out.push(p.outcome === 'refused' || p.outcome === 'fails' ? style.red(style.bold(p.summary)) : p.summary);
  return out;
}

export function renderProbedPlanText(given: ProbedPlan, style: Style = plainStyle, opts: PlanTextOptions = {}): string {
  // What the replicas said is shown as escaped as the plan itself (engine/ui/visible.ts).
  const { value: plan, escaped } = visibleData(given);
  const { body, closing, escaped: planEscaped } = planTextParts(plan, style, opts);
  // The plan's own note covers the escapes when it found them; otherwise, say it once at the end.
  const note = escaped && !planEscaped ? [style.yellow(ESCAPES_NOTE)] : [];
  return [...body, ...renderObservedText(plan.observed, style), '', ...renderPredictedText(plan.predicted, style), '', ...closing, ...note].join('\n') + '\n';
}
