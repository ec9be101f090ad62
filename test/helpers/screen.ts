// What a terminal shows once a program's output has been drawn: the few control sequences a
// progress renderer (listr2's log-update) uses to redraw its lines, applied to a grid of text, so a
// test reads the screen (and scrollback) as a person sees it rather than every frame ever drawn.
// Handles CR, LF, cursor up/down/column (CSI A, B, G), erase in line (CSI K) and below (CSI J);
// colours and other CSI sequences change nothing visible here. No dependency: @xterm/headless is not
// installed.
export function screenOf(output: string, columns = 120): string[] {
  const lines: string[][] = [[]];
  let row = 0;
  let col = 0;
  const line = () => (lines[row] ??= []);
  for (let i = 0; i < output.length; i++) {
    const ch = output[i]!;
    if (ch === '\u001b' && output[i + 1] === '[') {
      const m = /^\u001b\[([?0-9;]*)([A-Za-z])/.exec(output.slice(i));
      if (!m) continue;
      i += m[0].length - 1;
      const n = Number(m[1]!.replace('?', '') || '0');
      switch (m[2]) {
        case 'A': row = Math.max(0, row - Math.max(1, n)); break;
        case 'B': row += Math.max(1, n); break;
        case 'G': col = Math.max(0, n - 1); break;
        case 'K': {
          const l = line();
          if (n === 2) l.length = 0;
          else if (n === 1) l.fill(' ', 0, col);
          else l.length = Math.min(l.length, col);
          break;
        }
        case 'J': line().length = Math.min(line().length, col); lines.length = row + 1; break;
      }
      continue;
    }
    if (ch === '\u001b') continue;
    if (ch === '\r') { col = 0; continue; }
    if (ch === '\n') { row++; col = 0; line(); continue; }
    if (col >= columns) { row++; col = 0; }
    const l = line();
    while (l.length < col) l.push(' ');
    l[col++] = ch;
  }
  return lines.map((l) => (l ?? []).join('').trimEnd());
}
