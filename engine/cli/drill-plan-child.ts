// `runbook drill`'s plan of a runbook with plugins, made in a process of its own (engine/commands/
// drill-plan.ts says why): `runbook plan` as the CLI runs it (its diagnostics as `runbook plan`
// shows them), then what only a process that imported the plugins can tell: which of the plugin
// steps planned dataLoss are so by their author's choice (dataLoss even after an LSN wait), not
// because the engine marked them for a missing wait (attack r7fix #4).
// Arguments: <runbook> <plan file> <facts file> [--set name=value ...]
import type { main as Main } from './main.js';

const [runbook, planFile, factsFile, ...sets] = process.argv.slice(2);
let code: number;
try {
  const { main }: { main: typeof Main } = await import('./main.js');
  code = await main(['plan', runbook!, '--lab', '--out', planFile!, ...sets], { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd() });
  if (code === 0) {
    const { writePluginDataLossFacts } = await import('../commands/drill-plan.js');
    await writePluginDataLossFacts(runbook!, planFile!, factsFile!);
  }
} catch (error) {
  // No stack trace: the drill shows this line and stops (its own failure, exit 1).
  process.stderr.write(`runbook: the drill's plan could not be made: ${String((error as Error)?.message ?? error).split('\n')[0]}\n`);
  code = 1;
}
process.stdout.write('', () => process.exit(code));
