// The query the step types send while they run, with the SQL driver's module loaded on the first
// call: step modules are loaded by `validate` and `plan` too, which send nothing, and so must load
// no driver module (start-up budget, bench/startup; test/engine/commands/no-drivers.test.ts).
type Pool = typeof import('./pool.js');

/** pool.ts runSql: one statement or batch, cancelled when `signal` aborts. */
export const runSql: Pool['runSql'] = async (...args) => (await import('./pool.js')).runSql(...args);
