// The registry of built-in step types: an explicit map, sorted by name, each entry a lazy import
// so that `validate` and `plan` load only the step modules a runbook uses (and no drivers).
// Adding a step type: create steps/<type>.ts and add one line here, keeping the keys sorted.
// test/engine/step-api/registry.test.ts fails when a file in steps/ is missing from this map.
import type { StepModuleMap } from '../engine/step-api/index.js';

export const stepModules: StepModuleMap = {
  armDeleteLink: () => import('./armDeleteLink.js'),
  armFailoverLink: () => import('./armFailoverLink.js'),
  armGetInstance: () => import('./armGetInstance.js'),
  armGetLink: () => import('./armGetLink.js'),
  armSetReplicationMode: () => import('./armSetReplicationMode.js'),
  armSetRole: () => import('./armSetRole.js'),
  assert: () => import('./assert.js'),
  assertBackup: () => import('./assertBackup.js'),
  assertRole: () => import('./assertRole.js'),
  confirm: () => import('./confirm.js'),
  lsnGap: () => import('./lsnGap.js'),
  notify: () => import('./notify.js'),
  sqlExec: () => import('./sqlExec.js'),
  sqlServerVersion: () => import('./sqlServerVersion.js'),
  waitLsnStable: () => import('./waitLsnStable.js'),
  waitResynchronized: () => import('./waitResynchronized.js'),
};
