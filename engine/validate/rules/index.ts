// The semantic pass, in the order findings read best. Each rule is independent.
import type { Rule } from './context.js';
import { readsThatWrite, sqlImpactDeclared, sqlSplices } from './sql.js';
import { duplicateStepIds, knownStepTypes, stepTargets } from './steps.js';
import { templates } from './templates.js';
import { durations, inputDefaults } from './values.js';

export const rules: Rule[] = [inputDefaults, duplicateStepIds, knownStepTypes, stepTargets, durations, templates, sqlImpactDeclared, sqlSplices, readsThatWrite];
