// Why the lab did not start, in one line: an install whose better-sqlite3 never ran its install
// script (npm's allowScripts policy, --ignore-scripts) is told how to fix it, not "Tried:".
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { labStartProblem } from '../../../engine/commands/lab-start.js';

test('a missing SQLite native module names the flag that builds it', () => {
  // What `bindings` throws when build/Release/better_sqlite3.node is missing (seen after an install with --ignore-scripts).
  const message = 'Could not locate the bindings file. Tried:\n → /p/node_modules/better-sqlite3/build/better_sqlite3.node\n → /p/node_modules/better-sqlite3/build/Release/better_sqlite3.node';
  const line = labStartProblem(message);
  assert.not.match(line, /\n/);
  assert.not.match(line, /Tried:/);
  assert.match(line, /--allow-scripts=better-sqlite3/);
  assert.match(line, /npm rebuild better-sqlite3/);
});

test('any other failure keeps its own first line', () => {
  assert.is(labStartProblem('listen EADDRINUSE: address already in use\nmore'), 'lab: could not start: listen EADDRINUSE: address already in use');
});

test.run();
