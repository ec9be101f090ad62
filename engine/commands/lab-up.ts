// `runbook lab up`: start the embedded lab in the foreground, write its inventory, print how to
// connect, and stop cleanly on Ctrl-C.
import { writeFileSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadLab, startLabOrExplain } from './lab-start.js';
import { checkLabScenario } from './prepare.js';
import type { CommandIO } from './io.js';
import { UsageError } from '../core/errors.js';

export interface LabUpOptions {
  links?: string;
  scenario?: string;
  inventoryOut?: string;
  /** `--link-scenario 7=lagging`: a link's own scenario in a fleet lab. */
  linkScenarios?: string[];
}

/** `7=lagging` -> { 7: 'lagging' }; the link must exist. */
function parseLinkScenarios(given: string[], links: number): Record<number, string> {
  const out: Record<number, string> = {};
  for (const g of given) {
    const m = /^(\d+)=(.+)$/.exec(g);
    const n = m ? Number(m[1]) : NaN;
    if (!m || n < 1 || n > links) throw new UsageError(`lab up: --link-scenario takes <link number 1-${links}>=<scenario>, not "${g}"`);
    if (out[n] !== undefined) throw new UsageError(`lab up: --link-scenario gives link ${n} twice`);
    checkLabScenario(m[2]!);
    out[n] = m[2]!;
  }
  return out;
}

/**
 * The fleet lab's links share one SQL Server and one managed instance endpoint, and a scenario's
 * faults (a replica down, a statement failing) act on the lab's servers, not on one link's: a
 * link's own scenario with faults would silently lose them (link 2=primary-down would leave its
 * primary up, and a forced failover would make a split-brain instead). Refused, not guessed.
 */
async function refuseServerFaults(linkScenarios: Record<number, string>): Promise<void> {
  const lab = await loadLab();
  for (const [n, name] of Object.entries(linkScenarios)) {
    let kinds: string[];
    try {
      kinds = lab.loadScenario(name).faults.map((f) => f.kind);
    } catch {
      continue; // A scenario that does not load is reported, with its place, when the lab starts.
    }
    if (kinds.length) {
      throw new UsageError(`lab up: --link-scenario ${n}=${name}: its faults (${[...new Set(kinds)].join(', ')}) act on a server, which every link of the fleet lab shares, so one link cannot have them; give them to the whole lab with --scenario`);
    }
  }
}

function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * How to run the engine against the lab from the shell that has those exports, in both ways one
 * can have it: on the PATH (an installed package, or `npm link` in a clone), and from a clone
 * without either, as `node <clone>/dist/engine/cli/bin.js` (npx runbook works only inside the
 * clone: elsewhere it would look for a package of that name in the registry).
 */
export function howToRun(cwd: string, inventory: string): string[] {
  const shown = (path: string) => {
    const rel = relative(cwd, path);
    return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? path : rel;
  };
  const bin = shown(fileURLToPath(new URL('../cli/bin.js', import.meta.url)));
  const runbookFile = shown(fileURLToPath(new URL('../../../runbooks/planned-failover.yml', import.meta.url)));
  const args = `plan ${shellQuote(runbookFile)} -i ${shellQuote(inventory)}`;
  return [
    'Then, in that shell, plan (or apply) against it:',
    `  node ${shellQuote(bin)} ${args}`,
    `  runbook ${args}   # the same, with runbook on your PATH (npm link in the clone, or installed)`,
  ];
}

export async function labUpCommand(opts: LabUpOptions, io: CommandIO): Promise<number> {
  const links = opts.links === undefined ? 1 : Number(opts.links);
  if (!Number.isInteger(links) || links < 1 || links > 100) throw new UsageError(`lab up: --links must be a whole number from 1 to 100, not "${opts.links}"`);
  const linkScenarios = parseLinkScenarios(opts.linkScenarios ?? [], links);
  const yaml = (await import('js-yaml')).default;
  // Several links share one SQL Server and one managed instance, as a fleet does in reality.
  const fleet = links > 1;
  if (fleet) await refuseServerFaults(linkScenarios);
  const lab = await startLabOrExplain({ links, ...(fleet ? { fleet, linkScenarios } : {}), ...(opts.scenario !== undefined ? { scenario: opts.scenario } : {}) });
  const out = opts.inventoryOut ?? 'lab-inventory.yml';
  const written: string[] = [];
  if (lab.fleet) {
    writeFileSync(resolve(io.cwd, out), `# Written by \`runbook lab up\`: the fleet (every link); passwords come from the environment.\n${yaml.dump(lab.fleet)}`);
  }
  lab.inventories.forEach((inventory, i) => {
    const file = lab.inventories.length === 1 ? out : out.replace(/(\.ya?ml)?$/, (ext) => `-${i + 1}${ext || '.yml'}`);
    writeFileSync(resolve(io.cwd, file), `# Written by \`runbook lab up\`; passwords come from the environment (see the export lines).\n${yaml.dump(inventory)}`);
    written.push(file);
  });
  const w = (s: string) => io.stdout.write(s + '\n');
  w(`Lab running${opts.scenario ? ` (scenario ${opts.scenario})` : ''} with ${lab.inventories.length} link(s).`);
  for (const [i, inventory] of lab.inventories.entries()) {
    const l = inventory.link;
    w(`  link ${l.name} (database ${l.database}): SQL Server ${l.sqlServer.connection.host}:${l.sqlServer.connection.port ?? 1433}, ` +
      `Managed Instance ${l.managedInstance.connection.host}:${l.managedInstance.connection.port ?? 1433}  -> ${written[i]}`);
  }
  w(`  ARM endpoint ${lab.inventory.arm.endpoint}; CA certificate ${lab.caFile}`);
  w('Set these in the shell that runs runbook against this lab:');
  for (const [name, value] of Object.entries(lab.env)) w(`export ${name}=${shellQuote(value)}`);
  if (lab.fleet) {
    for (const [n, scenario] of Object.entries(linkScenarios)) w(`  link ${n}: scenario ${scenario}`);
    w(`The fleet inventory (all ${links} links): ${out}`);
    w(`Then: runbook status -i ${out}   or   runbook apply runbooks/planned-failover.yml -i ${out} --all`);
  }
  for (const line of howToRun(io.cwd, written[0]!)) w(line);
  w('Press Ctrl-C to stop the lab.');

  await new Promise<void>((resolveStop) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolveStop();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  io.stderr.write('Stopping the lab...\n');
  await lab.stop();
  return 0;
}
