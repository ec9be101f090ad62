// The name of a link's application lock on the server, from the link's name.
import { createHash } from 'node:crypto';
import { linkNameKey } from './link-name-key.js';

/**
 * `runbook:link:<dag>`, the name folded as the server may compare it; long names are shortened
 * with a hash (sp_getapplock takes 255 characters).
 *
 * sp_getapplock compares resource names in binary (MicrosoftDocs/sql-docs, sp-getapplock-transact-sql.md:
 * "binary compared, and thus is case-sensitive regardless of the collation settings of the current
 * database"), but the server finds the distributed availability group by its name under the
 * server collation, usually case-insensitive: `dag1` in one inventory and `DAG1` in another are one
 * link, and must be one lock. Which collation, and so which names are equal, is the server's; the
 * fold makes every pair a common collation could call equal one resource: stricter, never looser
 * (two links whose names differ only that way share a lock, which only makes one wait).
 */
export function lockResource(linkName: string): string {
  const key = linkNameKey(linkName);
  const plain = `runbook:link:${key}`;
  if (plain.length <= 200) return plain;
  return `runbook:link:${key.slice(0, 120)}#${createHash('sha256').update(key).digest('hex').slice(0, 16)}`;
}
