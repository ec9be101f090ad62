// What a drill holds unchanged while it runs: the plugin and scenario files each run reads afresh,
// and the built engine. A verdict over two versions of any of them would be neither's.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { engineChange, engineState, type EngineState } from './engine-build.js';
import { DrillHarnessError, DrillSetupError } from './errors.js';

/** Files a run reads afresh, and their digest (filesDigest) when the drill started. */
export interface WatchedFiles {
  files: string[];
  sha256: string;
}

/** One digest of files by path and bytes (a missing file counts as such): the plugin code or the scenarios a run reads. */
export function filesDigest(files: string[]): string {
  const hash = createHash('sha256');
  for (const file of files) hash.update(`${file}\0`).update(existsSync(file) ? readFileSync(file) : '(missing)').update('\0');
  return hash.digest('hex');
}

/**
 * Stops the drill when a plugin or scenario file is not the one it started with (checked before a
 * run starts and after it ends): a verdict over two versions would be neither's.
 */
export function checkFilesUnchanged(settings: { runbookFile: string; plugins?: WatchedFiles; scenarios?: WatchedFiles }): void {
  const changed = (watched: WatchedFiles | undefined) => {
    const now = watched && filesDigest(watched.files);
    return now !== undefined && now !== watched!.sha256 ? `sha256 ${watched!.sha256.slice(0, 12)} -> ${now.slice(0, 12)}` : undefined;
  };
  const plugins = changed(settings.plugins);
  if (plugins) {
    throw new DrillSetupError(`the plugins of ${settings.runbookFile} (${settings.plugins!.files.join(', ')}) changed while the drill ran (${plugins}); a drill rehearses one version: run it again`);
  }
  const scenarios = changed(settings.scenarios);
  if (scenarios) {
    throw new DrillSetupError(`the scenario changed while the drill ran (${settings.scenarios!.files.join(', ')}: ${scenarios}); a drill rehearses one world: run it again`);
  }
}

export const RUN_AGAIN = 'run the drill again once the build is done';

/**
 * Stops the drill when the engine on disk is not the build it started with. Checked after each
 * case's runs end, not before they start: a rebuild leaves its files' sizes and times changed for
 * good, so an engine as it was at the drill's start after a case proves it unchanged throughout
 * that case (a check before would repeat the last case's, ~3-7 ms of CPU a run, 470 files).
 */
export function checkEngineUnchanged(settings: { engine?: { dist: string; at: EngineState } }): void {
  const engine = settings.engine;
  const change = engine ? engineChange(engine.at, engineState(engine.dist)) : undefined;
  if (change) throw new DrillHarnessError(`the engine was rebuilt or upgraded while the drill ran (${change}); ${RUN_AGAIN}`);
}
