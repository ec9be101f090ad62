// The driver packages (mssql and tedious, @azure/arm-sql, @azure/core-rest-pipeline,
// @azure/identity) are CommonJS, and loaded here with require, never with ESM `import`:
// - an ESM import of a CommonJS file first scans its whole source for export names
//   (cjs-module-lexer): @azure/arm-sql is one 2.5 MB file, ~250 ms of CPU in every process that
//   runs anything;
// - @azure/core-rest-pipeline and @azure/identity ship an ESM build beside the CommonJS one, and
//   @azure/arm-sql (and tedious) require the CommonJS build: an `import` loaded the ESM build as a
//   second copy (~80 ms more, and two RestError classes in one process).
// One require per package, here, so that every driver module gets the one copy the packages
// themselves share. Nothing is loaded before a function is called: `validate` and `plan` load
// this module's importers only through ../on-demand.ts (test/engine/commands/no-drivers.test.ts).
import Module, { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * mssql, with tedious's own require of @azure/identity answered lazily. tedious requires it at
 * load for its Entra ID logins only (connection.js builds a credential from it when a login of type
 * azure-active-directory-* starts), and with it come @azure/msal-node, jsonwebtoken and semver:
 * ~70 ms of CPU in every process, for a SQL login that never uses them (the lab's, and every
 * `passwordEnv` login). tedious gets an object that loads the real package on its first property
 * read (an Entra ID login then works as before, with the one copy identityPackage() returns too).
 */
export function mssqlPackage(): typeof import('mssql') {
  const mssqlFile = require.resolve('mssql');
  if (require.cache[mssqlFile]) return require('mssql') as typeof import('mssql');
  // The copy tedious would load (resolved from tedious itself, as its require would).
  const identityFile = createRequire(createRequire(mssqlFile).resolve('tedious')).resolve('@azure/identity');
  if (require.cache[identityFile]) return require('mssql') as typeof import('mssql');
  const real = () => require(identityFile) as Record<PropertyKey, unknown>;
  const lazy = new Proxy({}, {
    get: (_, key) => real()[key],
    has: (_, key) => key in real(),
    ownKeys: () => Reflect.ownKeys(real()),
    getOwnPropertyDescriptor: (_, key) => Object.getOwnPropertyDescriptor(real(), key),
  });
  const stand = new Module(identityFile);
  stand.filename = identityFile;
  stand.loaded = true;
  stand.exports = lazy;
  require.cache[identityFile] = stand;
  try {
    return require('mssql') as typeof import('mssql');
  } finally {
    // Whoever requires the package from now on (real() included) loads the real one.
    if (require.cache[identityFile] === stand) delete require.cache[identityFile];
  }
}
export const armSqlPackage = (): typeof import('@azure/arm-sql') => require('@azure/arm-sql') as typeof import('@azure/arm-sql');
export const corePipelinePackage = (): typeof import('@azure/core-rest-pipeline') => require('@azure/core-rest-pipeline') as typeof import('@azure/core-rest-pipeline');
export const identityPackage = (): typeof import('@azure/identity') => require('@azure/identity') as typeof import('@azure/identity');
