// The plan as JSON: exactly the Plan data, so `plan --format json` and `plan --out` agree.
import type { Plan } from './types.js';
import { PLAN_FORMAT_VERSION } from './types.js';
import { redact } from '../core/redact.js';
import { planDigest } from './file.js';

export function renderPlanJson(plan: Plan): string {
  // A plan file outlives the run: registered secrets never reach it, even through a rendered template.
  const { digest: _old, ...content } = JSON.parse(redact(JSON.stringify(plan, null, 2))) as Plan;
  // The digest is over what the file says (secrets masked), so apply can check it as read.
  return JSON.stringify({ ...content, digest: planDigest(content) }, null, 2) + '\n';
}

/** Parses a saved plan; returns an error message instead of throwing on foreign JSON. */
export function parsePlanJson(text: string): Plan | string {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    return `not valid JSON: ${(error as Error).message}`;
  }
  const p = data as Partial<Plan>;
  if (!p || typeof p !== 'object' || p.format !== 'runbook-plan') return 'not a runbook plan (no "format": "runbook-plan")';
  if (p.version !== PLAN_FORMAT_VERSION) return `plan format version ${String(p.version)} is not supported (expected ${PLAN_FORMAT_VERSION})`;
  if (!p.runbook || !Array.isArray(p.steps) || !p.inventory) return 'plan is incomplete (runbook, inventory or steps missing)';
  const isText = (v: unknown) => typeof v === 'string' && v !== '';
  if (!isText(p.runbook.file) || !isText(p.runbook.sha256) || !isText(p.inventory.link)) return 'plan is incomplete (runbook.file, runbook.sha256 or inventory.link missing)';
  if (!p.inputs || typeof p.inputs !== 'object' || Array.isArray(p.inputs)) return 'plan is incomplete (inputs is not an object)';
  return p as Plan;
}
