// The first result set of a sqlExec script: turned into plain JSON outputs, and checked against
// the runbook's `expect:`. Pure, so every expectation message is unit tested.

export interface Expectation {
  rows?: number;
  empty?: boolean;
  column?: string;
  equals?: string | number | boolean | null;
}

export interface ResultSet {
  columns: string[];
  rows: Array<Record<string, unknown>>;
}

export const expectationMessages = {
  expectNoResultSet: 'Expected a result set to check, but the script returned none.',
  expectRows: 'Expected {{expected}} rows in the first result set, got {{actual}}.',
  expectEmpty: 'Expected no rows in the first result set, got {{actual}}.',
  expectNotEmpty: 'Expected at least one row in the first result set, got none.',
  expectNoRowForColumn: 'Expected {{column}} = {{expected}} in the first row, but the result set has no rows.',
  expectNoColumn: 'Expected a column {{column}} in the first row; its columns are {{columns}}.',
  expectEquals: 'Expected {{column}} = {{expected}} in the first row, got {{actual}}.',
} as const;

export type ExpectationProblem = {
  id: keyof typeof expectationMessages;
  data: Record<string, string | number>;
};

/** JSON-friendly output values: dates as ISO text, binary as 0x hex, bigint as text. */
export function toOutputValue(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Buffer.isBuffer(value)) return `0x${value.toString('hex').toUpperCase()}`;
  if (typeof value === 'bigint') return value.toString();
  return value;
}

/** How a value reads in a message: NULL, 'text', or the number/boolean as is. */
export function valueText(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'string') return `'${value}'`;
  return String(value);
}

/** Compares as text, with bit/boolean and 0/1 taken as the same thing. */
export function sameValue(actual: unknown, expected: unknown): boolean {
  if (actual === null || actual === undefined || expected === null) return (actual ?? null) === expected;
  const norm = (v: unknown) => (v === true ? '1' : v === false ? '0' : String(v));
  return norm(actual) === norm(expected);
}

export function checkExpectation(expect: Expectation, result: ResultSet | undefined): ExpectationProblem | undefined {
  if (!result) return { id: 'expectNoResultSet', data: {} };
  const actual = result.rows.length;
  if (expect.rows !== undefined && actual !== expect.rows) {
    return { id: 'expectRows', data: { expected: expect.rows, actual } };
  }
  if (expect.empty === true && actual > 0) return { id: 'expectEmpty', data: { actual } };
  if (expect.empty === false && actual === 0) return { id: 'expectNotEmpty', data: {} };
  if (expect.column !== undefined) {
    const expected = valueText(expect.equals ?? null);
    if (actual === 0) return { id: 'expectNoRowForColumn', data: { column: expect.column, expected } };
    const row = result.rows[0];
    if (!(expect.column in row)) {
      return { id: 'expectNoColumn', data: { column: expect.column, columns: result.columns.join(', ') || '(none)' } };
    }
    if (!sameValue(row[expect.column], expect.equals ?? null)) {
      return { id: 'expectEquals', data: { column: expect.column, expected, actual: valueText(row[expect.column]) } };
    }
  }
  return undefined;
}

/** The expectation in words, for the plan's guards. */
export function expectationText(expect: Expectation): string {
  const parts: string[] = [];
  if (expect.rows !== undefined) parts.push(`exactly ${expect.rows} row${expect.rows === 1 ? '' : 's'}`);
  if (expect.empty === true) parts.push('no rows');
  if (expect.empty === false) parts.push('at least one row');
  if (expect.column !== undefined) parts.push(`${expect.column} = ${valueText(expect.equals ?? null)} in the first row`);
  return `First result set has ${parts.join(' and ') || 'any shape'}`;
}
