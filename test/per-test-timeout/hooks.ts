// Module resolution hook (node:module register): `uvu` imported by anything but the wrapper itself
// is the wrapper; `uvu/assert` and the rest stay as they are.
interface ResolveContext {
  parentURL?: string;
}
type NextResolve = (specifier: string, context: ResolveContext) => Promise<{ url: string }>;

let wrapper = '';

export function initialize(data: { wrapper: string }): void {
  wrapper = data.wrapper;
}

export async function resolve(specifier: string, context: ResolveContext, next: NextResolve): Promise<{ url: string; shortCircuit?: boolean }> {
  if (specifier === 'uvu' && context.parentURL !== wrapper) return { url: wrapper, shortCircuit: true };
  return next(specifier, context);
}
