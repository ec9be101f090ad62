// The direction of imports (README "Architecture"): each engine folder may import only the folders
// below it, steps only the step API and the drivers, the lab nothing of ours. `npm test` runs it
// (test/architecture.test.ts); a wrong-way import fails the suite with the rule's name.
const layers = ['core', 'step-api|drivers', 'template', 'load', 'validate', 'plan', 'apply', 'fleet', 'ui', 'drill', 'commands', 'cli'];
// step-api and drivers share a floor but do not know each other.
const below = (i) => layers.slice(0, i).join('|');

// What engine/commands hands to the engine: the built-in step types and the lab (see the rule
// commands-hand-over-builtins-only); no layer below commands may import them.
const handedOver = ['^steps/index\\.ts$', '^lab/index\\.ts$', '^lab/inventory\\.ts$'];

const layerRules = layers.slice(0, -1).flatMap((layer, i) =>
  layer.split('|').map((name) => ({
    name: `${name}-imports-only-below`,
    comment: `engine/${name}/ may import only engine/{${below(i) || 'nothing else'}}/ and node modules.`,
    severity: 'error',
    from: { path: `^engine/${name}/` },
    to: {
      path: '^(engine|steps|lab)/',
      pathNot: [`^engine/(${[name, below(i)].filter(Boolean).join('|')})/`, ...(name === 'commands' ? handedOver : [])],
    },
  })),
);

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'cli-imports-only-engine',
      comment: 'engine/cli/ runs commands; it reaches steps and the lab only through them.',
      severity: 'error',
      from: { path: '^engine/cli/' },
      to: { path: '^(steps|lab)/' },
    },
    {
      name: 'commands-hand-over-builtins-only',
      comment: 'engine/commands/ hands the built-in steps (steps/index.ts) and the lab (lab/index.ts, lab/inventory.ts) to the engine; nothing else of theirs.',
      severity: 'error',
      from: { path: '^engine/commands/' },
      to: { path: '^(steps|lab)/', pathNot: handedOver },
    },
    {
      name: 'steps-know-step-api-and-drivers',
      comment: 'A step type depends on the step API entry point (engine/step-api/index.ts) and engine/drivers/ only (and steps/support/).',
      severity: 'error',
      from: { path: '^steps/' },
      to: { path: '^(engine|lab)/', pathNot: ['^engine/step-api/index\\.ts$', '^engine/drivers/'] },
    },
    {
      name: 'plugins-know-the-step-api',
      comment: 'An example plugin imports the step API entry point, as a plugin outside the repository imports runbook/step-api; nothing else of ours.',
      severity: 'error',
      from: { path: '^examples/plugins/' },
      to: { path: '^(engine|steps|lab)/', pathNot: ['^engine/step-api/index\\.ts$'] },
    },
    {
      name: 'lab-knows-nothing-of-ours',
      comment: 'The lab is a server: it imports nothing of engine/ or steps/, not even types.',
      severity: 'error',
      from: { path: '^lab/' },
      to: { path: '^(engine|steps)/' },
    },
    {
      name: 'no-circular',
      comment: 'Modules of the engine, the steps and the lab do not import each other in a loop.',
      severity: 'error',
      from: { path: '^(engine|steps|lab)/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // Type-only imports are arrows too: the lab may not even borrow our types.
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
