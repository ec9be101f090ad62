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
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export const mssqlPackage = (): typeof import('mssql') => require('mssql') as typeof import('mssql');
export const armSqlPackage = (): typeof import('@azure/arm-sql') => require('@azure/arm-sql') as typeof import('@azure/arm-sql');
export const corePipelinePackage = (): typeof import('@azure/core-rest-pipeline') => require('@azure/core-rest-pipeline') as typeof import('@azure/core-rest-pipeline');
export const identityPackage = (): typeof import('@azure/identity') => require('@azure/identity') as typeof import('@azure/identity');
