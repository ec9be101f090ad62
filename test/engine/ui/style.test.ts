// NO_COLOR on a real terminal. Without a terminal there is never colour, so only a pseudo-terminal
// (util-linux `script`) can show that NO_COLOR is what turns it off: the same command with and
// without it, colour codes (SGR, ESC [ ... m) expected only without it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixture, tempDir } from '../../helpers/cli.js';
import { onTerminal, script } from '../../helpers/terminal.js';
import { colorWanted } from '../../../engine/ui/style.js';

const SGR = /\u001b\[[\d;]*m/;

/** On a terminal, with NO_COLOR set or not (FORCE_COLOR never). */
const withColour = (args: string[], noColor: boolean, cwd: string) =>
  onTerminal(args, { cwd, env: { CI: '', NO_COLOR: noColor ? '1' : undefined, FORCE_COLOR: undefined } });

test('colorWanted: a terminal, unless NO_COLOR (any non-empty value) or TERM=dumb', () => {
  const tty = { isTTY: true };
  assert.ok(colorWanted(tty, {}));
  assert.not.ok(colorWanted(tty, { NO_COLOR: '1' }));
  assert.not.ok(colorWanted(tty, { NO_COLOR: 'false' }));
  assert.not.ok(colorWanted(tty, { TERM: 'dumb' }));
  assert.not.ok(colorWanted({ isTTY: false }, {}));
});

const inventory = fixture('inventory.yml');
const bad = join(tempDir(), 'bad.yml');
writeFileSync(bad, 'name: bad\ndescription: x\nsteps:\n  - id: a\n    type: nosuchstep\n    with: {}\n');

for (const [label, args, expectedCode] of [
  ['plan (a data-loss step, flagged in red)', ['plan', fixture('danger.yml'), '-i', inventory, '--set', 'trace=/dev/null'], 0],
  ['validate (diagnostics)', ['validate', bad], 2],
  ['apply (listr2 progress and summary)', ['apply', fixture('flow.yml'), '-i', inventory, '--yes'], 0],
] as const) {
  test(`${label}: colour on a terminal, none with NO_COLOR`, async () => {
    if (!existsSync(script)) return;
    const coloured = await withColour([...args], false, tempDir());
    assert.is(coloured.code, expectedCode, coloured.output);
    assert.match(coloured.output, SGR, 'colour on a terminal without NO_COLOR');
    const plain = await withColour([...args], true, tempDir());
    assert.is(plain.code, expectedCode, plain.output);
    assert.not.match(plain.output, SGR, 'no colour with NO_COLOR');
  });
}

test.run();
