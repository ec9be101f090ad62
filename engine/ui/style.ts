// Colour and stream helpers. Colour only on a TTY and never when NO_COLOR is set (any value,
// per no-color.org) or TERM=dumb.
export interface Style {
  enabled: boolean;
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  yellow(s: string): string;
  green(s: string): string;
  cyan(s: string): string;
}

export function colorWanted(stream: unknown, env: NodeJS.ProcessEnv): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.TERM === 'dumb') return false;
  return (stream as { isTTY?: boolean }).isTTY === true;
}

function wrap(enabled: boolean, open: number, close: number) {
  return (s: string) => (enabled ? `\u001b[${open}m${s}\u001b[${close}m` : s);
}

export function makeStyle(enabled: boolean): Style {
  return {
    enabled,
    bold: wrap(enabled, 1, 22),
    dim: wrap(enabled, 2, 22),
    red: wrap(enabled, 31, 39),
    yellow: wrap(enabled, 33, 39),
    green: wrap(enabled, 32, 39),
    cyan: wrap(enabled, 36, 39),
  };
}

export const plainStyle: Style = makeStyle(false);

/** `s` without its colour sequences: what a terminal shows, for measuring and padding columns. */
export const visibleText = (s: string): string => s.replace(/\u001b\[[0-9;]*m/g, '');

