// A fleet lab's server holds many links' replicas: one statement hook per link, and the statement
// goes to the link it is about (lab/backend-sql.ts builds them).
import type { StatementHook } from './sql/contract.js';

/**
 * One hook per link of a shared server: the statement is the first link's that does not answer
 * "no such group" (15151 about the group, not a replica of it) or "no such database" (911); if
 * every link says so, that is the answer.
 * These hooks check the name before they change anything, so asking the next link is safe. The
 * links whose names the statement mentions are asked first (each other link's refusal is an error
 * built and thrown: on a fleet's server, a hundred of them for a statement about the last link).
 */
export function firstThatKnows(hooks: StatementHook[], notMine: (error: { number?: number; message?: string }) => boolean, names: string[][]): StatementHook {
  if (hooks.length === 1) return hooks[0]!;
  const ask = (hook: StatementHook, text: string, ctx: Parameters<StatementHook>[1]): { answer: ReturnType<StatementHook> } | { refused: unknown } => {
    try {
      return { answer: hook(text, ctx) };
    } catch (error) {
      if (!notMine(error as { number?: number; message?: string })) throw error;
      return { refused: error };
    }
  };
  return (text, ctx) => {
    // The first link answers at once every statement that is not about a group or database (undefined).
    let asked = ask(hooks[0]!, text, ctx);
    if ('answer' in asked) return asked.answer;
    const lower = text.toLowerCase();
    const rest = hooks.slice(1);
    const mentioned = new Set(rest.filter((_, i) => names[i + 1]!.some((n) => lower.includes(n))));
    for (const hook of [...mentioned, ...rest.filter((h) => !mentioned.has(h))]) {
      asked = ask(hook, text, ctx);
      if ('answer' in asked) return asked.answer;
    }
    throw asked.refused;
  };
}

export const notThisGroup = (e: { number?: number; message?: string }) => e.number === 15151 && /the availability group/.test(e.message ?? '');
export const notThisDatabase = (e: { number?: number }) => e.number === 911;
