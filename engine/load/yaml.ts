// Reads one YAML file defensively (size, encoding, binary, tabs, duplicate keys, depth, aliases)
// and keeps a position for every node so later passes can point at file:line:col.
import { openSync, readSync, closeSync, fstatSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as JsYaml from 'js-yaml';
import { codeCacheDir, loadLibrary, type CachedLibrary, type CodeCacheUse } from '../core/code-cache.js';
import { diag, type Diagnostic } from '../core/diagnostics.js';
import { PositionIndex, TreeBuilder, type Pos } from './positions.js';

export const MAX_FILE_BYTES = 1024 * 1024;
export const MAX_DEPTH = 64;
/** Nodes the document would have with every alias expanded; beyond this it is an alias bomb. */
export const MAX_EXPANDED_NODES = 100_000;
export const MAX_ALIASES = 1_000;

export interface LoadedYaml {
  value: unknown;
  source: string;
  /** Position of the node at a JSON pointer (`''` is the root); nearest ancestor when absent. */
  locate(pointer: string, which?: 'value' | 'key'): Pos;
  /** Position of (line, column) inside a string value; see PositionIndex.locateInValue. */
  locateInValue(pointer: string, line: number, column: number): Pos;
  /** The source line (1-based), for callers that quote it. */
  lineText(line: number): string;
  diagnostics: Diagnostic[];
}

export interface ReadResult {
  text?: string;
  diagnostics: Diagnostic[];
}

/** Reads a file as UTF-8 text, refusing oversized, binary and non-UTF-8 input without reading it all. */
export function readSource(file: string): ReadResult {
  const at = { file, line: 1, column: 1 };
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : `cannot be read (${code ?? 'error'})`;
    return { diagnostics: [diag('file-unreadable', `${file}: ${why}.`, at)] };
  }
  try {
    const size = fstatSync(fd).size;
    if (size > MAX_FILE_BYTES) {
      return { diagnostics: [diag('file-too-large', `File is ${size} bytes; runbooks and inventories are limited to ${MAX_FILE_BYTES} bytes.`, at)] };
    }
    const buf = Buffer.alloc(size);
    let got = 0;
    while (got < size) {
      const n = readSync(fd, buf, got, size - got, got);
      if (n === 0) break;
      got += n;
    }
    return decode(file, buf.subarray(0, got));
  } catch (e) {
    return { diagnostics: [diag('file-unreadable', `${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'}).`, at)] };
  } finally {
    closeSync(fd);
  }
}

function decode(file: string, buf: Buffer): ReadResult {
  const nul = buf.indexOf(0);
  if (nul !== -1) {
    const p = bytePos(buf, nul);
    return { diagnostics: [diag('file-binary', 'File contains NUL bytes; it looks binary, not YAML text.', { file, ...p })] };
  }
  try {
    return { text: new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(buf), diagnostics: [] };
  } catch {
    const bad = firstInvalidUtf8(buf);
    return { diagnostics: [diag('file-not-utf8', 'File is not valid UTF-8; save it as UTF-8.', { file, ...bytePos(buf, bad) })] };
  }
}

function bytePos(buf: Buffer, offset: number): Pos {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) if (buf[i] === 0x0a) { line++; lineStart = i + 1; }
  return { line, column: offset - lineStart + 1 };
}

/** Offset of the first byte that does not start a well-formed UTF-8 sequence. */
function firstInvalidUtf8(buf: Buffer): number {
  const dec = new TextDecoder('utf-8', { fatal: true });
  let i = 0;
  while (i < buf.length) {
    const b = buf[i]!;
    const len = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (len === 0 || i + len > buf.length) return i;
    try {
      if (len > 1) dec.decode(buf.subarray(i, i + len));
    } catch {
      return i;
    }
    i += len;
  }
  return buf.length;
}

export type JsYamlModule = typeof JsYaml;

const require = createRequire(import.meta.url);

/**
 * js-yaml's UMD build, dist/js-yaml.js: the code of the ESM build `import 'js-yaml'` gives (the
 * package makes both from one source with one rollup build) in a form a script can run, so it runs
 * from the build's V8 code cache (engine/core/code-cache.ts; written by engine/build/code-caches.ts).
 * The package's exports map does not name that file: it is found beside the package's main one.
 */
export function jsYamlLibrary(): CachedLibrary {
  return { file: join(dirname(require.resolve('js-yaml')), 'dist', 'js-yaml.js'), name: 'js-yaml.js' };
}

/** js-yaml, and whether a code cache in `dir` was used. */
export function loadJsYaml(dir: string = codeCacheDir): { yaml: JsYamlModule; cache: CodeCacheUse } {
  const { exports, cache } = loadLibrary<JsYamlModule>(jsYamlLibrary(), dir);
  return { yaml: exports, cache };
}

let library: JsYamlModule | undefined;

/** Loaded on the first document: `runbook --help` and `--version` never read YAML. */
function jsYaml(): JsYamlModule {
  library ??= loadJsYaml().yaml;
  return library;
}

/** js-yaml's reading of `source`, with the options every document is read with; `builder` records the positions. */
export function readYamlDocument(yaml: JsYamlModule, file: string, source: string, builder: TreeBuilder): unknown {
  return yaml.load(source, {
    filename: file,
    schema: yaml.CORE_SCHEMA,
    json: true, // keeps going past duplicate keys; we report every duplicate ourselves
    listener: builder.listener,
    maxDepth: MAX_DEPTH,
  } as Parameters<JsYamlModule['load']>[1]);
}

/** Loads one YAML document. `text` skips reading the file (and the byte-level checks). */
export function loadYaml(file: string, text?: string): LoadedYaml {
  let source = text;
  const diagnostics: Diagnostic[] = [];
  if (source === undefined) {
    const read = readSource(file);
    diagnostics.push(...read.diagnostics);
    source = read.text;
  } else if (source.length > MAX_FILE_BYTES) {
    diagnostics.push(diag('file-too-large', `Input is ${source.length} characters; the limit is ${MAX_FILE_BYTES}.`, { file, line: 1, column: 1 }));
    source = undefined;
  } else if (source.includes('\0')) {
    diagnostics.push(diag('file-binary', 'Input contains NUL characters; it looks binary, not YAML text.', { file, line: 1, column: 1 }));
    source = undefined;
  }
  if (source === undefined) return finish(file, '', undefined, new PositionIndex('', undefined), diagnostics);
  if (source.charCodeAt(0) === 0xfeff) source = source.slice(1);

  const builder = new TreeBuilder(source);
  let value: unknown;
  let parsed = false;
  try {
    value = readYamlDocument(jsYaml(), file, source, builder);
    parsed = true;
  } catch (e) {
    diagnostics.push(yamlErrorDiagnostic(file, e));
  }
  const index = new PositionIndex(source, parsed ? builder.roots[builder.roots.length - 1] : undefined);
  diagnostics.push(...tabDiagnostics(file, index));
  if (parsed) {
    for (const d of index.duplicates) {
      diagnostics.push(
        diag('yaml-duplicate-key', `Duplicate key \`${d.key}\`; it is also defined at line ${d.first.line}, column ${d.first.column}.`, {
          file, ...d.second, path: d.pointer,
        }),
      );
    }
    const bomb = aliasProblem(value, index.aliasCount);
    if (bomb) {
      diagnostics.push(diag('yaml-alias-limit', bomb, { file, line: 1, column: 1 }));
      value = undefined;
    }
  }
  // A tab problem explains js-yaml's own complaint about it better; keep one diagnostic per line.
  const tabLines = new Set(diagnostics.filter((d) => d.code === 'yaml-tab-indentation').map((d) => d.line));
  const kept = diagnostics.filter((d) => !(d.code === 'yaml-syntax' && tabLines.has(d.line)));
  return finish(file, source, parsed ? value : undefined, index, kept);
}

function finish(file: string, source: string, value: unknown, index: PositionIndex, diagnostics: Diagnostic[]): LoadedYaml {
  void file;
  return {
    value,
    source,
    locate: (pointer, which) => index.locate(pointer, which),
    locateInValue: (pointer, line, column) => index.locateInValue(pointer, line, column),
    lineText: (line) => index.lineText(line),
    diagnostics,
  };
}

interface YamlExceptionLike {
  name?: string;
  reason?: string;
  message?: string;
  mark?: { line: number; column: number };
}

function yamlErrorDiagnostic(file: string, e: unknown): Diagnostic {
  const err = e as YamlExceptionLike;
  const line = (err.mark?.line ?? 0) + 1;
  const column = (err.mark?.column ?? 0) + 1;
  const reason = err.reason ?? String(err.message ?? e).split('\n')[0]!;
  if (/maxDepth/.test(reason)) {
    return diag('yaml-too-deep', `Nesting is deeper than ${MAX_DEPTH} levels; a runbook never needs that.`, { file, line, column });
  }
  if (/maxTotalMergeKeys|merge sequence/.test(reason)) {
    return diag('yaml-alias-limit', `Too many merge keys (${reason}).`, { file, line, column });
  }
  // Only js-yaml's reason, never its snippet: the snippet quotes source lines that may hold secrets.
  return diag('yaml-syntax', `YAML syntax error: ${reason}.`, { file, line, column });
}

/** Lines indented with a tab, outside block scalars (where tabs after the indentation are content). */
function tabDiagnostics(file: string, index: PositionIndex): Diagnostic[] {
  const out: Diagnostic[] = [];
  const text = index.text;
  let lineStart = 0;
  let line = 1;
  while (lineStart <= text.length) {
    let end = text.indexOf('\n', lineStart);
    if (end === -1) end = text.length;
    let i = lineStart;
    while (i < end && (text[i] === ' ' || text[i] === '\t')) i++;
    const blank = i === end || text[i] === '#' || text[i] === '\r';
    const tab = text.indexOf('\t', lineStart);
    if (!blank && tab !== -1 && tab < i && !index.blockScalars.some(([s, e]) => lineStart > s && lineStart < e)) {
      out.push(diag('yaml-tab-indentation', 'Tab used for indentation; YAML indentation must be spaces.', { file, line, column: tab - lineStart + 1 }));
    }
    if (end === text.length) break;
    lineStart = end + 1;
    line++;
  }
  return out;
}

/** Counts the nodes the value would have with aliases expanded, stopping at the bound; finds cycles. */
function aliasProblem(value: unknown, aliasCount: number): string | undefined {
  if (aliasCount > MAX_ALIASES) return `The document uses ${aliasCount} aliases; the limit is ${MAX_ALIASES}.`;
  if (aliasCount === 0) return undefined;
  const sizes = new Map<object, number>();
  const active = new Set<object>();
  let cyclic = false;
  let tooDeep = false;
  const size = (v: unknown, depth: number): number => {
    if (v === null || typeof v !== 'object') return 1;
    if (depth > 4 * MAX_DEPTH) {
      tooDeep = true;
      return MAX_EXPANDED_NODES + 1;
    }
    const known = sizes.get(v);
    if (known !== undefined) return known;
    if (active.has(v)) {
      cyclic = true;
      return MAX_EXPANDED_NODES + 1;
    }
    active.add(v);
    let total = 1;
    for (const child of Object.values(v)) {
      total += size(child, depth + 1);
      if (total > MAX_EXPANDED_NODES) break;
    }
    active.delete(v);
    sizes.set(v, total);
    return total;
  };
  const n = size(value, 0);
  if (cyclic) return 'An alias refers to a node that contains it; recursive documents are not allowed.';
  if (tooDeep) return `Aliases nest the document deeper than ${4 * MAX_DEPTH} levels; this looks like an alias bomb.`;
  if (n > MAX_EXPANDED_NODES) return `Aliases expand the document to more than ${MAX_EXPANDED_NODES} nodes; this looks like an alias bomb.`;
  return undefined;
}
