// Maps YAML nodes to source positions. js-yaml 4 has no AST, but its `listener` option reports
// the opening and closing of every node it composes (keys included); from those events we rebuild
// a light tree, then index it by JSON pointer. Anything the tree cannot place (aliases, merge keys,
// unusual flow forms) falls back to the nearest ancestor, so a position is always available.

export interface Pos {
  line: number;
  column: number;
}

export interface YamlNode {
  open: number;
  start: number;
  end: number;
  kind: string | null;
  result: unknown;
  children: YamlNode[];
}

export interface DuplicateKey {
  pointer: string;
  key: string;
  first: Pos;
  second: Pos;
}

interface Entry {
  value: YamlNode;
  key?: YamlNode;
}

export interface ListenerState {
  position: number;
  kind: string | null;
  result: unknown;
}

/** Collects listener events into a tree. */
export class TreeBuilder {
  readonly roots: YamlNode[] = [];
  private readonly stack: YamlNode[] = [];
  constructor(private readonly text: string) {}

  readonly listener = (event: 'open' | 'close', state: ListenerState): void => {
    if (event === 'open') {
      this.stack.push({ open: state.position, start: state.position, end: state.position, kind: null, result: null, children: [] });
      return;
    }
    const node = this.stack.pop();
    if (!node) return;
    node.kind = state.kind;
    node.result = state.result;
    node.end = state.position;
    node.start = contentStart(this.text, node.open, node.end, node.result === null);
    const parent = this.stack[this.stack.length - 1];
    if (parent) parent.children.push(node);
    else this.roots.push(node);
  };
}

/** Skips blanks, line breaks and comments after `open`; an empty node stays where it opened. */
function contentStart(text: string, open: number, end: number, empty: boolean): number {
  let i = open;
  let crossedLine = false;
  while (i < text.length) {
    const ch = text.charCodeAt(i);
    if (ch === 0x20 || ch === 0x09) i++;
    else if (ch === 0x0a || ch === 0x0d) {
      crossedLine = true;
      i++;
    } else if (ch === 0x23 /* # */ && (i === 0 || /\s/.test(text[i - 1]!))) {
      while (i < text.length && text.charCodeAt(i) !== 0x0a) i++;
    } else break;
  }
  if (empty && (crossedLine || i > end)) return open;
  return i;
}

export function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

export function joinPointer(base: string, segment: string | number): string {
  return `${base}/${escapePointer(String(segment))}`;
}

export class PositionIndex {
  private readonly lineStarts: number[] = [0];
  private readonly entries = new Map<string, Entry>();
  readonly duplicates: DuplicateKey[] = [];
  /** Nodes that are aliases (`*name`), for the expansion bound. */
  aliasCount = 0;
  /** Block scalars' [start, end) offsets, so tab checks can skip their content. */
  readonly blockScalars: Array<[number, number]> = [];

  constructor(readonly text: string, root: YamlNode | undefined) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 0x0a) this.lineStarts.push(i + 1);
    if (root) this.walk(root, '', undefined);
  }

  pos(offset: number): Pos {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - this.lineStarts[lo]! + 1 };
  }

  lineText(line: number): string {
    const start = this.lineStarts[line - 1];
    if (start === undefined) return '';
    const next = this.lineStarts[line];
    return this.text.slice(start, next === undefined ? undefined : next - 1).replace(/\r$/, '');
  }

  /** The position of a node (`which: 'key'` for the key of a mapping entry); nearest ancestor otherwise. */
  locate(pointer: string, which: 'value' | 'key' = 'value'): Pos {
    let p = pointer;
    for (;;) {
      const e = this.entries.get(p);
      if (e) {
        const node = which === 'key' && p === pointer && e.key ? e.key : e.value;
        return this.pos(node.start);
      }
      if (p === '') return { line: 1, column: 1 };
      p = p.slice(0, p.lastIndexOf('/'));
    }
  }

  /** Whether the pointer has a node of its own (rather than falling back to an ancestor). */
  has(pointer: string): boolean {
    return this.entries.has(pointer);
  }

  /**
   * Position of (line, column) inside a string value, both 1-based within the string. Exact for
   * one-line scalars and literal block scalars; other multi-line forms get the right line at best.
   */
  locateInValue(pointer: string, line: number, column: number): Pos {
    const e = this.entries.get(pointer);
    if (!e || typeof e.value.result !== 'string') return this.locate(pointer);
    const start = this.pos(e.value.start);
    const first = this.text[e.value.start];
    if (first === '|' || first === '>') {
      let firstContent = start.line + 1;
      while (firstContent < this.lineStarts.length && this.lineText(firstContent).trim() === '') firstContent++;
      const indent = /^ */.exec(this.lineText(firstContent))![0].length;
      return { line: start.line + line, column: indent + column };
    }
    const quoted = first === '"' || first === "'";
    if (line === 1) return { line: start.line, column: start.column + (quoted ? 1 : 0) + column - 1 };
    const srcLine = start.line + line - 1;
    const indent = /^ */.exec(this.lineText(srcLine))![0].length;
    return { line: srcLine, column: indent + 1 };
  }

  private walk(node: YamlNode, pointer: string, key: YamlNode | undefined): void {
    this.entries.set(pointer, key ? { value: node, key } : { value: node });
    const first = this.text[node.start];
    if (first === '*') this.aliasCount++;
    if ((first === '|' || first === '>') && typeof node.result === 'string') this.blockScalars.push([node.start, node.end]);
    if (node.kind === 'sequence' && Array.isArray(node.result)) {
      node.children.forEach((child, i) => this.walk(child, joinPointer(pointer, i), undefined));
    } else if (node.kind === 'mapping' && node.result && typeof node.result === 'object') {
      this.walkMapping(node, pointer);
    }
  }

  private walkMapping(node: YamlNode, pointer: string): void {
    const seen = new Map<string, YamlNode>();
    const kids = node.children;
    for (let i = 0; i + 1 < kids.length; i += 2) {
      const keyNode = kids[i]!;
      if (keyNode.result !== null && typeof keyNode.result === 'object') return; // not a plain pairing: give up here
      const key = String(keyNode.result);
      if (key === '<<') continue;
      if (!Object.prototype.hasOwnProperty.call(node.result, key)) return; // events do not match the value
      const earlier = seen.get(key);
      if (earlier) {
        this.duplicates.push({ pointer: joinPointer(pointer, key), key, first: this.pos(earlier.start), second: this.pos(keyNode.start) });
      }
      seen.set(key, keyNode);
      this.walk(kids[i + 1]!, joinPointer(pointer, key), keyNode);
    }
  }
}
