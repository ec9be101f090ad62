// A link's name as the server compares it. Apart from the lock's resource name (lock-resource.ts)
// because validate and the fleet compare names too, and loading node:crypto for the lock's hash
// cost their start-up ~3 ms (bench/startup).

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
