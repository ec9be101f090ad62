// Splits the healthy links of `runbook status --format json` into groups of at most N, as a JSON
// matrix for CI: one wave per group. Unhealthy links are left out and listed on stderr: they need
// a person, not a wave. Usage: node link-groups.mjs status.json [N]
import { readFileSync } from 'node:fs';

const [file, size = '10'] = process.argv.slice(2);
const status = JSON.parse(readFileSync(file, 'utf8'));
const healthy = status.links.filter((l) => l.healthy).map((l) => l.link);
for (const l of status.links.filter((l) => !l.healthy)) console.error(`left out ${l.link}: ${l.problems.join('; ')}`);
const groups = [];
for (let i = 0; i < healthy.length; i += Number(size)) groups.push({ links: healthy.slice(i, i + Number(size)).join(',') });
process.stdout.write(JSON.stringify({ include: groups }));
