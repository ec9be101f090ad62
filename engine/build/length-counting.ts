// Which of the build's validators may count a string's length as JavaScript does (engine/build/schemas.ts).
/**
 * Whether counting a string's length in UTF-16 code units (JavaScript's `length`) gives every
 * answer that counting characters (code points, as JSON Schema does) gives: when no `maxLength`
 * is set and no `minLength` is over 1 (a string is empty in both counts or in neither).
 */
export function lengthsAgreeInCodeUnits(schema: unknown): boolean {
  if (Array.isArray(schema)) return schema.every(lengthsAgreeInCodeUnits);
  if (schema === null || typeof schema !== 'object') return true;
  const record = schema as Record<string, unknown>;
  if ('maxLength' in record || (typeof record.minLength === 'number' && record.minLength > 1)) return false;
  return Object.values(record).every(lengthsAgreeInCodeUnits);
}
