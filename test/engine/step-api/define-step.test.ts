// defineStep: one literal, typed. Message ids and argument types are checked by the compiler (each
// expected error below fails `npm run build` if a misspelled id or a wrong argument ever
// compiles); at run time every method gets a context that reports by those ids, the step's
// defaults and the resolved impact, and the definition cannot be changed afterwards.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { defineStep, GuardRefusal, isDefinedStep, OutcomeUnknown, StepFailure, stepMessages, type StepRunContext } from '../../../engine/step-api/index.js';
import { definitelyNotApplied, errorExitCode } from '../../../engine/core/errors.js';
import { ExitCode } from '../../../engine/core/exit-codes.js';
import { labInventory } from '../../../lab/inventory.js';

interface PingArgs {
  host: string;
  every?: string;
}

const seen: Array<{ impact: string; every: string }> = [];

const ping = defineStep({
  type: 'ping',
  description: 'A step type for the defineStep test: it reports through its messages.',
  with: {
    type: 'object',
    additionalProperties: false,
    required: ['host'],
    properties: {
      host: { type: 'string', description: 'What to ping.' },
      every: { type: 'string', format: 'duration', description: 'How often (default 2s).' },
    },
  },
  defaults: { every: '2s' },
  messages: {
    refused: 'Host {{host}} refused the ping.',
    lost: 'Lost the answer from {{host}}.',
    down: 'Host {{host}} is down.',
    pinging: 'Pinging {{host}} every {{every}}.',
  },
  impact: (args: PingArgs) => (args.host === 'prod' ? 'dataLoss' : 'read'),
  target: 'none',
  outputs: { host: { description: 'The host pinged.' } },
  plan(ctx, args: PingArgs) {
    return { summary: ctx.text('pinging', { host: args.host, every: args.every ?? ctx.defaults.every }), guards: [`impact ${ctx.impact}`] };
  },
  async run(ctx, args: PingArgs) {
    seen.push({ impact: ctx.impact, every: args.every ?? ctx.defaults.every });
    if (args.host === 'refuses') throw ctx.fail('refused', { host: args.host }, { notApplied: true, detail: '  the server said no' });
    if (args.host === 'drops') throw ctx.outcomeUnknown('lost', { host: args.host });
    if (args.host === 'down') throw ctx.refuse('down', { host: args.host });
    return { host: args.host };
  },
  probe(ctx, args: PingArgs) {
    return this.run(ctx, args);
  },
});

// Compile-time checks only: never called.
export function misspellingsDoNotCompile(ctx: Parameters<typeof ping.run>[0]): void {
  defineStep({
    type: 'typo',
    description: 'Never defined at run time; the compiler reads it.',
    with: { type: 'object', additionalProperties: false, properties: {} },
    messages: { gone: 'Gone.' },
    impact: 'read',
    target: 'none',
    outputs: {},
    plan: (c) => ({
      // @ts-expect-error a message id that is not declared
      summary: c.text('gnoe'),
    }),
    async run(c, args: { n: number }) {
      // @ts-expect-error an argument the step's type does not have
      void args.m;
      // @ts-expect-error a default that is not declared
      void c.defaults.interval;
      throw c.fail('gone');
    },
  });
  // @ts-expect-error the definition's arguments are typed
  void ping.run(ctx, { hots: 'x' });
}

function runContext(extra: Partial<StepRunContext> = {}): StepRunContext {
  return {
    stepId: 'p',
    runId: 'r',
    inventory: labInventory(),
    inputs: {},
    impact: 'read',
    log: { progress: () => undefined, info: () => undefined, warn: () => undefined },
    signal: new AbortController().signal,
    sql: () => Promise.reject(new Error('no sql')),
    arm: () => Promise.reject(new Error('no arm')),
    resolveTarget: () => Promise.reject(new Error('no targets')),
    outputs: {},
    history: [],
    env: {},
    ...extra,
  };
}

test('the definition is the literal: frozen, marked, with its messages and defaults', () => {
  assert.ok(isDefinedStep(ping));
  assert.not.ok(isDefinedStep({ ...ping }));
  assert.ok(Object.isFrozen(ping));
  assert.throws(() => {
    (ping as { verify?: unknown }).verify = async () => 'done';
  }, TypeError);
  assert.equal(Object.keys(ping.messages ?? {}), ['refused', 'lost', 'down', 'pinging']);
  assert.equal(ping.defaults, { every: '2s' });
  assert.is(ping.verify, undefined);
});

test('plan() gets the messages, the defaults and the impact the engine resolved', () => {
  const plan = ping.plan({ stepId: 'p', inventory: labInventory(), impact: 'dataLoss' }, { host: 'prod' });
  assert.equal(plan, { summary: 'Pinging prod every 2s.', guards: ['impact dataLoss'] });
});

test('run() sees ctx.impact and the defaults; probe can be run() itself', async () => {
  seen.length = 0;
  assert.equal(await ping.run(runContext({ impact: 'dataLoss' }), { host: 'prod' }), { host: 'prod' });
  assert.equal(await ping.probe!(runContext(), { host: 'db', every: '5s' }), { host: 'db' });
  assert.equal(seen, [{ impact: 'dataLoss', every: '2s' }, { impact: 'read', every: '5s' }]);
});

test('fail, outcomeUnknown and refuse build typed errors from the declared messages', async () => {
  const failure = await ping.run(runContext(), { host: 'refuses' }).catch((e: unknown) => e);
  assert.instance(failure, StepFailure);
  assert.is((failure as StepFailure).messageId, 'refused');
  assert.equal((failure as StepFailure).data, { host: 'refuses' });
  assert.is((failure as StepFailure).message, 'Host refuses refused the ping.\n  the server said no');
  assert.ok(definitelyNotApplied(failure));
  assert.is(errorExitCode(failure), undefined);

  const unknown = await ping.run(runContext(), { host: 'drops' }).catch((e: unknown) => e);
  assert.instance(unknown, OutcomeUnknown);
  assert.is((unknown as OutcomeUnknown).messageId, 'lost');
  assert.is(errorExitCode(unknown), ExitCode.outcomeUnknown);
  assert.not.ok(definitelyNotApplied(unknown));

  const refusal = await ping.run(runContext(), { host: 'down' }).catch((e: unknown) => e);
  assert.instance(refusal, GuardRefusal);
  assert.is((refusal as GuardRefusal).message, 'Host down is down.');
  assert.is(errorExitCode(refusal), ExitCode.refused);
});

test('a placeholder without data is a programming error, said at once', () => {
  assert.throws(() => stepMessages({ pinging: 'Pinging {{host}}.' }).text('pinging', { every: '1s' }), /\{\{host\}\} has no data/);
  assert.throws(() => stepMessages({ a: 'A.' }).fail('b' as never), /No message with id `b`/);
});

test('the impact function sees the arguments as given', () => {
  assert.is(typeof ping.impact === 'function' && ping.impact({ host: 'prod' }, { history: [] }), 'dataLoss');
});

test.run();
