// The one error a template raises: a syntax error, a construct outside the template language, a
// missing variable, or a helper that refused its value. Positions are inside the template text.

export class TemplateError extends Error {
  /** The variable path the error is about, when there is one. */
  readonly path?: string;
  /** 1-based position inside the template text, when known. */
  readonly line?: number;
  readonly column?: number;
  constructor(message: string, extra: { path?: string; line?: number; column?: number } = {}) {
    super(message);
    this.name = 'TemplateError';
    if (extra.path !== undefined) this.path = extra.path;
    if (extra.line !== undefined) this.line = extra.line;
    if (extra.column !== undefined) this.column = extra.column;
  }
}

/** A 1-based position inside a template's text. */
export interface TemplatePosition {
  line: number;
  column: number;
}
