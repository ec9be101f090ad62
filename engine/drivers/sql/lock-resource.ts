// The name of a link's application lock on the server, from the link's name.
import { createHash } from 'node:crypto';

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

/** Letters NFKD leaves whole that accent-insensitive or Windows collations may equal to plain letters. */
const LETTERS: Record<string, string> = { æ: 'ae', œ: 'oe', ø: 'o', đ: 'd', ð: 'd', ł: 'l', ħ: 'h', ı: 'i', þ: 'th', ŀ: 'l', ŧ: 't' };

/**
 * A link name as a case-, accent-, width- and kana-insensitive collation sees it, with the trailing
 * spaces `=` ignores dropped: compatibility forms apart (full-width, ligatures), accents off,
 * case folded through upper case (which spells out ß as SS), the letters above spelled plain.
 */
export function linkNameKey(name: string): string {
  const folded = name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toUpperCase()
    .toLowerCase()
    .replace(/[æœøđðłħıþŀŧ]/g, (c) => LETTERS[c] ?? c)
    // Katakana to hiragana: a kana-insensitive collation equals them.
    .replace(/[\u30a1-\u30f6]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0x60));
  return folded.replace(/\s+$/u, '');
}
