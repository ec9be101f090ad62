// Column values as the SQL step types read them from a row: mssql gives a datetime as a Date; a
// value cast to text (or sent as text) is parsed; NULL or an empty text is no date.

/** A datetime column's value as a Date, or null when there is none. */
export function asDate(v: unknown): Date | null {
  if (v instanceof Date) return v;
  if (typeof v === 'string' && v !== '') return new Date(v);
  return null;
}
