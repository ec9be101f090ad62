// One compiled ES module rewritten as a function of the linked file (engine/build/link/bundle.ts):
// its imports become constants taken from the modules it names (their functions in the same file,
// Node built-ins through `require`, packages through the linked file's own imports), its exports
// the object the function returns. Why a function per module and not one scope: no name of one
// module can meet a name of another, so nothing needs renaming and no scope analysis is needed.
//
// What ESM keeps and a returned object would not is refused, with the module's name: an exported
// `let` or `var`, whether in its declaration or in an `export { }` clause (a live binding: the
// importer would keep the first value), a top-level `await` (the function is synchronous),
// `export *` of a package (its names are not known here), an anonymous default function or class
// (no name to return it by). A module's top-level `this` is undefined, as in ESM.
import ts from 'typescript';

/** Where a specifier leads, as the linked file sees it. */
export type Target =
  | { kind: 'linked'; id: number }
  | { kind: 'builtin'; specifier: string }
  | { kind: 'package'; binding: string }
  /** One of our modules left out of the linked file: its path relative to the linked file. */
  | { kind: 'file'; path: string };

export interface ModuleSyntax {
  /** Specifiers of static imports and re-exports, in source order (the order ESM evaluates them). */
  staticSpecifiers: string[];
  /** Literal specifiers of `import()` calls. */
  dynamicSpecifiers: string[];
  problems: string[];
}

/** An export of the module: its name, and the expression in the module's function that holds it. */
export interface ExportEntry {
  name: string;
  value: string;
}

export interface LinkedModule {
  /** The module's function body, up to and without its `return`. */
  body: string;
  exports: ExportEntry[];
  /** Modules whose exports (but `default`) this one re-exports whole: `export * from`. */
  starFrom: number[];
  /** Whether the body reads `import.meta` (given as the module's own URL). */
  usesMeta: boolean;
  /** Whether the body resolves a computed `import()` specifier against the module's URL. */
  usesResolve: boolean;
}

/** The names linked code uses for itself; `$` keeps them out of anything tsc emits from our sources. */
export const LINKED = {
  require: '__linked$require',
  builtin: '__linked$builtin',
  meta: '__linked$meta',
  resolve: '__linked$resolve',
  reexport: '__linked$from',
  defaultValue: '__linked$default',
  /** `import()`: the linked modules run as a classic script, which has none of its own. */
  dynamicImport: '__linked$import',
} as const;

function parse(text: string, fileName: string): ts.SourceFile {
  return ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS);
}

const specifierOf = (node: ts.ImportDeclaration | ts.ExportDeclaration): string | undefined =>
  node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier) ? node.moduleSpecifier.text : undefined;

const isImportCall = (node: ts.Node): node is ts.CallExpression => ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword;
const isImportMeta = (node: ts.Node): node is ts.MetaProperty => ts.isMetaProperty(node) && node.keywordToken === ts.SyntaxKind.ImportKeyword;
const hasModifier = (node: ts.Node, kind: ts.SyntaxKind) => ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === kind);

/** Every `await` (or `for await`) outside a function: a module the linker cannot make synchronous. */
function topLevelAwait(node: ts.Node): ts.Node | undefined {
  if (ts.isFunctionLike(node) || ts.isClassStaticBlockDeclaration(node)) return undefined;
  if (ts.isAwaitExpression(node) || (ts.isForOfStatement(node) && node.awaitModifier)) return node;
  return ts.forEachChild(node, topLevelAwait);
}

function where(source: ts.SourceFile, node: ts.Node): string {
  const { line, character } = source.getLineAndCharacterOfPosition(node.getStart(source));
  return `${source.fileName}:${line + 1}:${character + 1}`;
}

/** What the linker needs to know of a module before it links it: what it imports, and what it cannot link. */
export function readModuleSyntax(text: string, fileName: string): ModuleSyntax {
  const source = parse(text, fileName);
  const staticSpecifiers: string[] = [];
  const dynamicSpecifiers: string[] = [];
  const problems: string[] = [];
  const liveBinding = (node: ts.Node) => `${where(source, node)}: an exported let or var is a live binding, which a linked module cannot keep`;
  /** The module's own top-level `let` and `var` names: exported by a clause, each is a live binding too. */
  const variables = new Set(
    source.statements.flatMap((s) => (ts.isVariableStatement(s) && !(s.declarationList.flags & ts.NodeFlags.Const) ? s.declarationList.declarations.flatMap((d) => boundNames(d.name)) : [])),
  );
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) {
      const specifier = specifierOf(statement);
      if (specifier !== undefined) staticSpecifiers.push(specifier);
      if (statement.attributes) problems.push(`${where(source, statement)}: import attributes are not linked`);
    }
    if (ts.isExportDeclaration(statement) && !statement.exportClause && !/^\.\.?\//.test(specifierOf(statement) ?? '')) {
      problems.push(`${where(source, statement)}: export * from ${specifierOf(statement)}: its names are not known to the linker`);
    }
    if (ts.isExportDeclaration(statement) && statement.moduleSpecifier === undefined && statement.exportClause && ts.isNamedExports(statement.exportClause)) {
      for (const e of statement.exportClause.elements) if (variables.has((e.propertyName ?? e.name).text)) problems.push(liveBinding(e));
    }
    if (ts.isVariableStatement(statement) && hasModifier(statement, ts.SyntaxKind.ExportKeyword) && !(statement.declarationList.flags & ts.NodeFlags.Const)) {
      problems.push(liveBinding(statement));
    }
    if ((ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement)) && !statement.name && hasModifier(statement, ts.SyntaxKind.DefaultKeyword)) {
      problems.push(`${where(source, statement)}: an anonymous default ${ts.isClassDeclaration(statement) ? 'class' : 'function'} is not linked: give it a name`);
    }
    const awaited = topLevelAwait(statement);
    if (awaited) problems.push(`${where(source, awaited)}: a top-level await cannot run in a linked (synchronous) module`);
  }
  const visit = (node: ts.Node): void => {
    if (isImportCall(node)) {
      const [argument, ...rest] = node.arguments;
      if (rest.length) problems.push(`${where(source, node)}: import() with options is not linked`);
      else if (argument && ts.isStringLiteral(argument)) dynamicSpecifiers.push(argument.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return { staticSpecifiers, dynamicSpecifiers, problems };
}

/** The names a binding (an identifier or a destructuring pattern) declares. */
function boundNames(name: ts.BindingName): string[] {
  if (ts.isIdentifier(name)) return [name.text];
  return name.elements.flatMap((element) => (ts.isOmittedExpression(element) ? [] : boundNames(element.name)));
}

interface Edit {
  start: number;
  end: number;
  text: string;
}

/** `a`, `b: c` for the named imports `{ a, b as c }`. */
function destructured(elements: readonly ts.ImportSpecifier[] | readonly ts.ExportSpecifier[]): string {
  return elements.map((e) => (e.propertyName && e.propertyName.text !== e.name.text ? `${e.propertyName.text}: ${e.name.text}` : e.name.text)).join(', ');
}

/**
 * The module as a function body of the linked file. `target` says where each specifier leads
 * (a static specifier must lead somewhere; a dynamic one left out of the linked file is a file).
 * Called only for a module without problems (readModuleSyntax).
 */
export function linkModule(text: string, fileName: string, target: (specifier: string) => Target): LinkedModule {
  const source = parse(text, fileName);
  const edits: Edit[] = [];
  const head: string[] = [];
  const exports: ExportEntry[] = [];
  const starFrom: number[] = [];
  let reexports = 0;
  let usesMeta = false;
  let usesResolve = false;

  /** The expression for a static target's namespace, and the statement that evaluates it. */
  const namespaceOf = (specifier: string): string => {
    const t = target(specifier);
    if (t.kind === 'linked') return `${LINKED.require}(${t.id})`;
    if (t.kind === 'builtin') return `${LINKED.builtin}(${JSON.stringify(t.specifier)})`;
    if (t.kind === 'package') return t.binding;
    throw new Error(`${fileName}: a static import of ${specifier} must be linked too`);
  };
  const remove = (node: ts.Node) => edits.push({ start: node.getStart(source), end: node.getEnd(), text: '' });

  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement)) {
      const specifier = specifierOf(statement)!;
      const ns = namespaceOf(specifier);
      const clause = statement.importClause;
      const builtin = target(specifier).kind === 'builtin';
      if (!clause) head.push(`${ns};`);
      else {
        // A built-in's default export is the module itself (what require returns).
        if (clause.name) head.push(`const ${clause.name.text} = ${builtin ? ns : `${ns}.default`};`);
        const bindings = clause.namedBindings;
        if (bindings && ts.isNamespaceImport(bindings)) {
          head.push(`const ${bindings.name.text} = ${builtin ? `{ ...${ns}, default: ${ns} }` : ns};`);
        } else if (bindings && bindings.elements.length) head.push(`const { ${destructured(bindings.elements)} } = ${ns};`);
        else if (!clause.name) head.push(`${ns};`);
      }
      remove(statement);
    } else if (ts.isExportDeclaration(statement)) {
      const specifier = specifierOf(statement);
      const clause = statement.exportClause;
      if (specifier === undefined) {
        if (clause && ts.isNamedExports(clause)) for (const e of clause.elements) exports.push({ name: e.name.text, value: (e.propertyName ?? e.name).text });
      } else {
        const t = target(specifier);
        const holder = `${LINKED.reexport}${reexports++}`;
        head.push(`const ${holder} = ${namespaceOf(specifier)};`);
        if (!clause) {
          if (t.kind !== 'linked') throw new Error(`${where(source, statement)}: export * from ${specifier}: its names are not known to the linker`);
          starFrom.push(t.id);
        } else if (ts.isNamespaceExport(clause)) exports.push({ name: clause.name.text, value: holder });
        else for (const e of clause.elements) exports.push({ name: e.name.text, value: `${holder}.${(e.propertyName ?? e.name).text}` });
      }
      remove(statement);
    } else if (ts.isExportAssignment(statement)) {
      edits.push({ start: statement.getStart(source), end: statement.expression.getStart(source), text: `const ${LINKED.defaultValue} = ` });
      exports.push({ name: 'default', value: LINKED.defaultValue });
    } else if (hasModifier(statement, ts.SyntaxKind.ExportKeyword)) {
      const modifiers = (ts.getModifiers(statement as ts.HasModifiers) ?? []).filter((m) => m.kind === ts.SyntaxKind.ExportKeyword || m.kind === ts.SyntaxKind.DefaultKeyword);
      for (const m of modifiers) edits.push({ start: m.getStart(source), end: m.getEnd(), text: '' });
      const isDefault = modifiers.some((m) => m.kind === ts.SyntaxKind.DefaultKeyword);
      if (ts.isVariableStatement(statement)) {
        for (const d of statement.declarationList.declarations) for (const n of boundNames(d.name)) exports.push({ name: n, value: n });
      } else if ((ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement)) && statement.name) {
        exports.push({ name: isDefault ? 'default' : statement.name.text, value: statement.name.text });
      } else throw new Error(`${where(source, statement)}: an export the linker does not know`);
    }
  }

  const visit = (node: ts.Node): void => {
    if (isImportMeta(node)) {
      usesMeta = true;
      edits.push({ start: node.getStart(source), end: node.getEnd(), text: LINKED.meta });
      return;
    }
    if (isImportCall(node)) {
      const argument = node.arguments[0]!;
      if (ts.isStringLiteral(argument)) {
        const t = target(argument.text);
        const text =
          t.kind === 'linked'
            ? `Promise.resolve().then(() => ${LINKED.require}(${t.id}))`
            : `${LINKED.dynamicImport}(${JSON.stringify(t.kind === 'file' ? t.path : argument.text)})`;
        edits.push({ start: node.getStart(source), end: node.getEnd(), text });
        return;
      }
      // A computed specifier is resolved against the module's own place, as ESM would.
      usesResolve = true;
      edits.push({ start: node.expression.getStart(source), end: node.expression.getEnd(), text: LINKED.dynamicImport });
      edits.push({ start: argument.getStart(source), end: argument.getStart(source), text: `${LINKED.resolve}(` });
      edits.push({ start: argument.getEnd(), end: argument.getEnd(), text: ')' });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);

  let body = text;
  for (const edit of edits.sort((a, b) => b.start - a.start)) body = body.slice(0, edit.start) + edit.text + body.slice(edit.end);
  body = body.replace(/^\/\/# sourceMappingURL=.*$/m, '');
  return { body: [...head, body].join('\n'), exports, starFrom, usesMeta, usesResolve };
}
