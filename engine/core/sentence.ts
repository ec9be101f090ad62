// Text taken from elsewhere (Azure's error messages, a runbook's message) put into one of ours.

/** The text trimmed and ended with exactly one full stop (or the !/? it already ends with). */
export function sentence(text: string): string {
  const t = text.trim();
  return /[.!?]$/.test(t) ? t : `${t}.`;
}
