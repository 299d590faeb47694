// The Consul model is only as good as its agreement with Consul: the same seeded random operation
// sequences run against a real agent and against the model, through the same NodeConsulPort (and
// raw HTTP for what the port never does: an operator's plain PUT and delete), and every answer is
// compared. Indexes are compared by order, not value (a real agent takes Raft indexes for its own
// bookkeeping too): the n-th distinct index seen on one side must sit where the other side's does.
// Session ids are compared the same way, by creation order. Where the two disagree, the model is wrong.
// Scripted scenarios then cover what a random sequence cannot reach: time passing (a session's TTL,
// a check bound to a session turning critical, lock-delay after both), a dev agent restarting empty,
// and ACL tokens (an agent with ACLs on, default deny).
import {
  ConsulRequestError,
  NodeConsulPort,
  systemClock,
  type CandidatesRead,
  type ConsulPort,
} from '../../../lib/election';
import type { TxnOperation, TxnOutcome } from '../../../lib/election/consul/consul-port';
import { startConsulAgent, type ConsulAgent } from '../../../harness';
import { ConsulModel, type AclScope } from '../../support/consul-model';
import { aclPut } from '../../support/consul-acl';
import { modelPort } from '../../support/model-consul-client';
import { Prng } from '../../support/prng';

const SEQUENCES = Number(process.env.CONFORMANCE_SEQUENCES ?? 16);
const OPERATIONS_PER_SEQUENCE = Number(process.env.CONFORMANCE_OPERATIONS ?? 60);

/** One side of the comparison: a port, the raw operator actions, and what this side has seen. */
interface Side {
  readonly name: 'consul' | 'model';
  readonly port: ConsulPort;
  put(key: string, value: string): Promise<void>;
  remove(key: string): Promise<void>;
  readonly sessions: string[];
  /** Per key, the ModifyIndexes this side has seen, latest last. */
  readonly seen: Map<string, number[]>;
  /** Per key, the last X-Consul-Index of a read. */
  readonly readIndex: Map<string, number>;
}

type Operation =
  | { op: 'createSession'; lockDelayMs: number }
  | { op: 'renewSession' | 'destroySession'; session: number }
  | { op: 'acquire'; session: number; key: string; expected: 'latest' | 'older' | 'absent' }
  | { op: 'release' | 'rewriteHeld'; session: number; key: string; expected: 'latest' | 'older' }
  | { op: 'confirmHolding'; session: number; key: string }
  | { op: 'readKey'; key: string; blocking: 'no' | 'current' | 'ahead' }
  | { op: 'put'; key: string; value: string }
  | { op: 'delete'; key: string };

function drawOperation(random: Prng, keys: readonly string[], sessions: number): Operation {
  const key = random.pick(keys);
  const session = sessions === 0 ? 0 : random.int(0, sessions - 1);
  const kind = random.weighted<Operation['op']>([
    [sessions === 0 ? 30 : 4, 'createSession'],
    [3, 'renewSession'],
    [2, 'destroySession'],
    [14, 'acquire'],
    [7, 'release'],
    [4, 'rewriteHeld'],
    [6, 'confirmHolding'],
    [10, 'readKey'],
    [3, 'put'],
    [3, 'delete'],
  ]);
  const needsSession =
    kind !== 'createSession' && kind !== 'readKey' && kind !== 'put' && kind !== 'delete';
  if (needsSession && sessions === 0) return { op: 'createSession', lockDelayMs: 0 };
  switch (kind) {
    case 'createSession':
      // Lock-delays far from the length of a sequence: both sides agree whatever the timing.
      return { op: kind, lockDelayMs: random.pick([0, 60_000]) };
    case 'renewSession':
    case 'destroySession':
      return { op: kind, session };
    case 'acquire':
      return {
        op: kind,
        session,
        key,
        expected: random.pick(['latest', 'latest', 'older', 'absent']),
      };
    case 'release':
    case 'rewriteHeld':
      return { op: kind, session, key, expected: random.pick(['latest', 'latest', 'older']) };
    case 'confirmHolding':
      return { op: kind, session, key };
    case 'readKey':
      return {
        op: kind,
        key,
        blocking: random.weighted<'no' | 'current' | 'ahead'>([
          [18, 'no'],
          [1, 'current'],
          [1, 'ahead'],
        ]),
      };
    case 'put':
      return { op: kind, key, value: `operator-${random.int(0, 99)}` };
    case 'delete':
      return { op: kind, key };
  }
}

/** Runs one operation on one side; the answer with raw indexes and session ids, for normalising. */
async function run(side: Side, operation: Operation): Promise<unknown> {
  const timeoutMs = 5_000;
  const sessionId = (i: number): string => side.sessions[i] ?? 'no-such-session';
  const expectedOf = (key: string, which: 'latest' | 'older' | 'absent'): number => {
    const seen = side.seen.get(key) ?? [];
    if (which === 'absent') return 0;
    return (which === 'latest' ? seen.at(-1) : seen.at(-2)) ?? 0;
  };
  const note = (key: string, modifyIndex: number): void => {
    const seen = side.seen.get(key) ?? [];
    if (seen.at(-1) !== modifyIndex) seen.push(modifyIndex);
    side.seen.set(key, seen);
  };
  try {
    switch (operation.op) {
      case 'createSession': {
        const id = await side.port.createSession(
          { name: 'conformance', ttlMs: 60_000, lockDelayMs: operation.lockDelayMs, checks: [] },
          timeoutMs,
        );
        side.sessions.push(id);
        return { created: true };
      }
      case 'renewSession':
        return await side.port.renewSession(sessionId(operation.session), timeoutMs);
      case 'destroySession':
        await side.port.destroySession(sessionId(operation.session), timeoutMs);
        return 'destroyed';
      case 'acquire': {
        const result = await side.port.acquire(
          {
            key: operation.key,
            sessionId: sessionId(operation.session),
            value: `held-by-${operation.session}`,
            expectedModifyIndex: expectedOf(operation.key, operation.expected),
          },
          timeoutMs,
        );
        if (result.acquired) note(operation.key, result.modifyIndex);
        return result;
      }
      case 'release':
        return await side.port.release(
          {
            key: operation.key,
            sessionId: sessionId(operation.session),
            value: `released-by-${operation.session}`,
            expectedModifyIndex: expectedOf(operation.key, operation.expected),
          },
          timeoutMs,
        );
      case 'rewriteHeld': {
        const modifyIndex = await side.port.rewriteHeld(
          {
            key: operation.key,
            sessionId: sessionId(operation.session),
            value: `rewritten-by-${operation.session}`,
            expectedModifyIndex: expectedOf(operation.key, operation.expected),
          },
          timeoutMs,
        );
        if (modifyIndex !== null) note(operation.key, modifyIndex);
        return { modifyIndex };
      }
      case 'confirmHolding':
        return await side.port.confirmHolding(
          operation.key,
          sessionId(operation.session),
          timeoutMs,
        );
      case 'readKey': {
        const last = side.readIndex.get(operation.key) ?? 0;
        const index =
          operation.blocking === 'no'
            ? 0
            : operation.blocking === 'current'
              ? last
              : last + 100_000;
        const read = await side.port.readKey(operation.key, {
          index,
          waitMs: 300,
          timeoutMs: 5_000,
        });
        side.readIndex.set(operation.key, read.index);
        if (read.entry) note(operation.key, read.entry.modifyIndex);
        return read;
      }
      case 'put':
        await side.put(operation.key, operation.value);
        return 'put';
      case 'delete':
        await side.remove(operation.key);
        return 'deleted';
    }
  } catch (error) {
    if (error instanceof ConsulRequestError) return { error: error.kind, status: error.status };
    throw error;
  }
}

/**
 * Maps one side's index values onto the other's by order: a pair (consul, model) is accepted when
 * it keeps every earlier pair's order and equality.
 */
class IndexMatcher {
  private readonly pairs: Array<[number, number]> = [];

  accept(consul: number, model: number): string | null {
    for (const [c, m] of this.pairs) {
      if (Math.sign(consul - c) !== Math.sign(model - m)) {
        return `index order differs: consul ${consul} vs earlier ${c}, model ${model} vs earlier ${m}`;
      }
    }
    this.pairs.push([consul, model]);
    return null;
  }
}

const INDEX_FIELDS = new Set(['index', 'modifyIndex', 'createIndex']);

/** Compares two answers field by field, indexes by order, session ids by creation order. */
function compare(
  consul: unknown,
  model: unknown,
  matcher: IndexMatcher,
  sessions: { consul: string[]; model: string[] },
  path = '',
): string | null {
  if (
    typeof consul === 'number' &&
    typeof model === 'number' &&
    INDEX_FIELDS.has(path.split('.').at(-1)!)
  ) {
    return matcher.accept(consul, model);
  }
  if (typeof consul === 'string' && typeof model === 'string') {
    // Index values inside messages ("current modify index 63 != 55") differ by their absolute values.
    const normal = (text: string, ids: string[]): string =>
      ids
        .reduce((out, id, i) => out.split(id).join(`<session ${i}>`), text)
        .replace(/index \d+ != \d+/g, 'index N != M');
    const a = normal(consul, sessions.consul);
    const b = normal(model, sessions.model);
    return a === b ? null : `${path}: consul ${JSON.stringify(a)} vs model ${JSON.stringify(b)}`;
  }
  if (consul && model && typeof consul === 'object' && typeof model === 'object') {
    const keys = new Set([...Object.keys(consul), ...Object.keys(model)]);
    for (const key of [...keys].sort()) {
      const difference = compare(
        (consul as Record<string, unknown>)[key],
        (model as Record<string, unknown>)[key],
        matcher,
        sessions,
        path ? `${path}.${key}` : key,
      );
      if (difference) return difference;
    }
    return null;
  }
  return Object.is(consul, model)
    ? null
    : `${path || 'answer'}: consul ${JSON.stringify(consul)} vs model ${JSON.stringify(model)}`;
}

/**
 * A scripted scenario, step by step on both sides: what the random sequences cannot reach
 * (time passing: TTLs, checks turning critical; an agent restart; ACL tokens). Every step's answers
 * are compared like the sequences' answers; a step may also wait, on both sides, for a state the
 * model claims is reached within a bound (polled on the agent, then compared).
 */
class Scenario {
  readonly sessions = { consul: [] as string[], model: [] as string[] };
  compared = 0;
  private matcher = new IndexMatcher();
  private readonly history: string[] = [];

  constructor(readonly name: string) {}

  /** Runs one step on both sides and compares the answers; returns them. */
  async step(
    what: string,
    onConsul: () => Promise<unknown>,
    onModel: () => Promise<unknown>,
  ): Promise<[unknown, unknown]> {
    const fromConsul = await answerOf(onConsul);
    const fromModel = await answerOf(onModel);
    this.history.push(
      `${what} → consul ${JSON.stringify(fromConsul)}, model ${JSON.stringify(fromModel)}`,
    );
    const difference = compare(fromConsul, fromModel, this.matcher, this.sessions);
    if (difference) {
      throw new Error(`${this.name}, ${what}: ${difference}\n${this.history.join('\n')}`);
    }
    this.compared += 1;
    return [fromConsul, fromModel];
  }

  /** One step made the same way through the agent's port and the model's. */
  both(
    what: string,
    via: { readonly consul: ConsulPort; readonly model: ConsulPort },
    step: (side: ConsulPort, which: 'consul' | 'model') => Promise<unknown>,
  ): Promise<[unknown, unknown]> {
    return this.step(
      what,
      () => step(via.consul, 'consul'),
      () => step(via.model, 'model'),
    );
  }

  /** Indexes start over (an agent that forgot its state): later ones are compared among themselves. */
  indexesStartOver(): void {
    this.matcher = new IndexMatcher();
  }
}

/** A transaction's outcome without Consul's Date header, which the model does not send. */
function withoutDate(outcome: TxnOutcome): unknown {
  const { serverDate: _date, ...rest } = outcome;
  return rest;
}

async function answerOf(step: () => Promise<unknown>): Promise<unknown> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof ConsulRequestError) return { error: error.kind, status: error.status };
    throw error;
  }
}

/** Polls `probe` until it holds or `withinMs` passes; returns whether it held. */
async function eventually(probe: () => Promise<boolean>, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    if (await probe()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('the Consul model against a real agent', () => {
  let agent: ConsulAgent;
  let consulPort: NodeConsulPort;
  beforeAll(async () => {
    agent = await startConsulAgent();
    consulPort = new NodeConsulPort({ host: agent.host, port: agent.port, secure: false });
  });
  afterAll(async () => {
    consulPort?.close();
    await agent?.stop();
  });

  it(`answers ${SEQUENCES} random sequences of ${OPERATIONS_PER_SEQUENCE} operations exactly as Consul does`, async () => {
    let compared = 0;
    for (let sequence = 1; sequence <= SEQUENCES; sequence += 1) {
      const random = new Prng(sequence);
      const prefix = `conformance/${process.pid}/${sequence}`;
      const keys = [`${prefix}/leader`, `${prefix}/leader-heartbeat`, `${prefix}/other`];
      const model = new ConsulModel(systemClock, () => random.next());
      const raw = async (method: string, key: string, body?: string): Promise<void> => {
        const response = await fetch(`${agent.address}/v1/kv/${key}`, {
          method,
          body,
          signal: AbortSignal.timeout(5_000),
        });
        if (!response.ok) throw new Error(`${method} ${key}: ${response.status}`);
      };
      const fresh = (
        name: Side['name'],
        port: ConsulPort,
        put: Side['put'],
        remove: Side['remove'],
      ): Side => ({
        name,
        port,
        put,
        remove,
        sessions: [],
        seen: new Map(),
        readIndex: new Map(),
      });
      const consul = fresh(
        'consul',
        consulPort,
        (key, value) => raw('PUT', key, value),
        (key) => raw('DELETE', key),
      );
      const inModel = fresh(
        'model',
        modelPort(model),
        async (key, value) => void model.kvPut(key, value),
        async (key) => void model.kvDelete(key),
      );
      const matcher = new IndexMatcher();
      const history: string[] = [];
      try {
        for (let step = 0; step < OPERATIONS_PER_SEQUENCE; step += 1) {
          const operation = drawOperation(random, keys, consul.sessions.length);
          const [fromConsul, fromModel] = [
            await run(consul, operation),
            await run(inModel, operation),
          ];
          history.push(`${step} ${JSON.stringify(operation)} → ${JSON.stringify(fromModel)}`);
          const difference = compare(fromConsul, fromModel, matcher, {
            consul: consul.sessions,
            model: inModel.sessions,
          });
          if (difference) {
            throw new Error(
              `sequence ${sequence}, step ${step}: ${difference}\nconsul: ${JSON.stringify(fromConsul)}\nmodel:  ${JSON.stringify(fromModel)}\n${history.join('\n')}`,
            );
          }
          compared += 1;
        }
      } finally {
        for (const id of consul.sessions)
          await consulPort.destroySession(id, 5_000).catch(() => undefined);
        model.dispose();
      }
    }
    // Reported in the test output: the number of answers compared.
    process.stdout.write(`conformance: ${compared} operations compared, all equal\n`);
    expect(compared).toBe(SEQUENCES * OPERATIONS_PER_SEQUENCE);
  }, 300_000);

  /** A model on the system clock (its TTLs and checks run in real time, beside the agent's). */
  const modelSide = (seed: number): { model: ConsulModel; port: NodeConsulPort } => {
    const random = new Prng(seed);
    const model = new ConsulModel(systemClock, () => random.next());
    return { model, port: modelPort(model) };
  };
  const sessionStep = (
    scenario: Scenario,
    port: { consul: ConsulPort; model: ConsulPort },
    what: string,
    session: { ttlMs: number; lockDelayMs: number; checks?: string[] },
  ): Promise<[unknown, unknown]> => {
    const create = async (side: 'consul' | 'model'): Promise<unknown> => {
      const id = await port[side].createSession(
        { name: 'conformance', checks: [], ...session },
        5_000,
      );
      scenario.sessions[side].push(id);
      return { created: true };
    };
    return scenario.step(
      what,
      () => create('consul'),
      () => create('model'),
    );
  };
  const keyFreeOnBoth = (
    key: string,
    port: { consul: ConsulPort; model: ConsulPort },
  ): (() => Promise<boolean>) => {
    const free = async (side: ConsulPort): Promise<boolean> =>
      !(await side.readKey(key, { timeoutMs: 5_000 })).entry?.session;
    return async () => (await free(port.consul)) && (await free(port.model));
  };
  const modifyIndexOf = async (port: ConsulPort, key: string): Promise<number> =>
    (await port.readKey(key, { timeoutMs: 5_000 })).entry?.modifyIndex ?? 0;

  it('expires a session within 2 × TTL of its last renew, as Consul does: its key released, with lock-delay', async () => {
    const scenario = new Scenario('session TTL');
    const { model, port: inModel } = modelSide(101);
    const port = { consul: consulPort, model: inModel };
    const key = `conformance/${process.pid}/ttl/leader`;
    const ttlMs = 1_000;
    const session = (side: 'consul' | 'model', i: number): string => scenario.sessions[side][i];
    try {
      await sessionStep(scenario, port, 'create a session (TTL 1 s, lock-delay 30 s)', {
        ttlMs,
        lockDelayMs: 30_000,
      });
      const acquire = (side: 'consul' | 'model', i: number, expectedModifyIndex: number) => () =>
        port[side].acquire(
          { key, sessionId: session(side, i), value: `held-by-${i}`, expectedModifyIndex },
          5_000,
        );
      await scenario.step('acquire the key', acquire('consul', 0, 0), acquire('model', 0, 0));
      await scenario.step(
        'renew the session',
        () => consulPort.renewSession(session('consul', 0), 5_000),
        () => inModel.renewSession(session('model', 0), 5_000),
      );
      const renewedAt = Date.now();
      // Consul may keep it up to 2 × TTL after that renew, and no longer: poll both until both
      // freed the key (the model at exactly 2 × TTL), then compare what each says.
      expect(await eventually(keyFreeOnBoth(key, port), 2 * ttlMs + 1_500)).toBe(true);
      expect(Date.now() - renewedAt).toBeGreaterThanOrEqual(ttlMs);
      await scenario.step(
        'renew the expired session',
        () => consulPort.renewSession(session('consul', 0), 5_000),
        () => inModel.renewSession(session('model', 0), 5_000),
      );
      await scenario.step(
        'read the key it held',
        () => consulPort.readKey(key, { timeoutMs: 5_000 }),
        () => inModel.readKey(key, { timeoutMs: 5_000 }),
      );
      await sessionStep(scenario, port, 'create another session', {
        ttlMs: 60_000,
        lockDelayMs: 0,
      });
      const [consulIndex, modelIndex] = [
        await modifyIndexOf(consulPort, key),
        await modifyIndexOf(inModel, key),
      ];
      await scenario.step(
        'acquire the freed key inside the expired session’s lock-delay',
        acquire('consul', 1, consulIndex),
        acquire('model', 1, modelIndex),
      );
    } finally {
      for (const id of scenario.sessions.consul)
        await consulPort.destroySession(id, 5_000).catch(() => undefined);
      model.dispose();
    }
    process.stdout.write(`conformance (session TTL): ${scenario.compared} answers compared\n`);
  }, 30_000);

  it('invalidates a session bound to a check when the check turns critical (failed, or its TTL ran out), as Consul does', async () => {
    const scenario = new Scenario('checks bound to sessions');
    const { model, port: inModel } = modelSide(102);
    const port = { consul: consulPort, model: inModel };
    const key = `conformance/${process.pid}/check/leader`;
    const service = { id: `conformance-${process.pid}`, name: 'conformance', meta: {} };
    const check = {
      id: `conformance-check-${process.pid}`,
      name: 'conformance',
      serviceId: service.id,
      ttlMs: 30_000,
      deregisterCriticalServiceAfterMs: 60_000,
    };
    const session = (side: 'consul' | 'model', i: number): string => scenario.sessions[side][i];
    try {
      await scenario.both('register a service', port, (side) =>
        side.registerService(service, 5_000),
      );
      await scenario.both('register its TTL check', port, (side) =>
        side.registerTtlCheck(check, 5_000),
      );
      await scenario.both('pass the check', port, (side) => side.passCheck(check.id, 5_000));
      await sessionStep(scenario, port, 'create a session bound to the check', {
        ttlMs: 60_000,
        lockDelayMs: 30_000,
        checks: [check.id],
      });
      await scenario.both('acquire the key', port, (side, which) =>
        side.acquire(
          { key, sessionId: session(which, 0), value: 'held', expectedModifyIndex: 0 },
          5_000,
        ),
      );
      await scenario.both('fail the check', port, async (side, which) => {
        if (which === 'model') return void model.failCheck(check.id);
        const response = await fetch(`${agent.address}/v1/agent/check/fail/${check.id}`, {
          method: 'PUT',
          signal: AbortSignal.timeout(5_000),
        });
        expect(response.status).toBe(200);
      });
      // At once in the model; on the agent as soon as the check's new state reaches the catalog.
      expect(await eventually(keyFreeOnBoth(key, port), 3_000)).toBe(true);
      await scenario.both('renew the invalidated session', port, (side, which) =>
        side.renewSession(session(which, 0), 5_000),
      );
      await scenario.both('read the key it held', port, (side) =>
        side.readKey(key, { timeoutMs: 5_000 }),
      );
      await sessionStep(scenario, port, 'create a session bound to the critical check', {
        ttlMs: 60_000,
        lockDelayMs: 0,
        checks: [check.id],
      });
      await sessionStep(scenario, port, 'create a session bound to no check', {
        ttlMs: 60_000,
        lockDelayMs: 0,
      });
      await scenario.both(
        'acquire the freed key inside the lock-delay',
        port,
        async (side, which) =>
          side.acquire(
            {
              key,
              sessionId: session(which, 1),
              value: 'next',
              expectedModifyIndex: await modifyIndexOf(side, key),
            },
            5_000,
          ),
      );
      await scenario.both('pass the check again', port, (side) => side.passCheck(check.id, 5_000));
      await sessionStep(scenario, port, 'create a session bound to the passing check', {
        ttlMs: 60_000,
        lockDelayMs: 0,
        checks: [check.id],
      });
      // A check nobody updates turns critical when its TTL runs out, and takes its sessions along.
      const shortCheck = { ...check, id: `${check.id}-short`, ttlMs: 1_000 };
      const shortKey = `${key}-short`;
      await scenario.both('register a check with a TTL of 1 s', port, (side) =>
        side.registerTtlCheck(shortCheck, 5_000),
      );
      await scenario.both('pass it', port, (side) => side.passCheck(shortCheck.id, 5_000));
      await sessionStep(scenario, port, 'create a session bound to it', {
        ttlMs: 60_000,
        lockDelayMs: 30_000,
        checks: [shortCheck.id],
      });
      await scenario.both('acquire another key with it', port, (side, which) =>
        side.acquire(
          { key: shortKey, sessionId: session(which, 3), value: 'held', expectedModifyIndex: 0 },
          5_000,
        ),
      );
      const passedAt = Date.now();
      expect(await eventually(keyFreeOnBoth(shortKey, port), shortCheck.ttlMs + 3_000)).toBe(true);
      expect(Date.now() - passedAt).toBeGreaterThanOrEqual(shortCheck.ttlMs - 50);
      await scenario.both('renew the session of the check that ran out', port, (side, which) =>
        side.renewSession(session(which, 3), 5_000),
      );
      await scenario.both('read the key it held', port, (side) =>
        side.readKey(shortKey, { timeoutMs: 5_000 }),
      );
    } finally {
      for (const id of scenario.sessions.consul)
        await consulPort.destroySession(id, 5_000).catch(() => undefined);
      await consulPort.deregisterService(service.id, 5_000).catch(() => undefined);
      model.dispose();
    }
    process.stdout.write(`conformance (checks): ${scenario.compared} answers compared\n`);
  }, 30_000);

  it('registers a service with its TTL check in one request: passing at once, so a session binds to it, and critical once nobody updates it, as Consul does', async () => {
    const scenario = new Scenario('service with its check');
    const { model, port: inModel } = modelSide(104);
    const port = { consul: consulPort, model: inModel };
    const service = {
      id: `conformance-embedded-${process.pid}`,
      name: `conformance-embedded-${process.pid}`,
      meta: { 'leader-key': 'conformance/embedded', 'instance-id': 'embedded', 'lease-ms': '1500' },
      check: {
        id: `conformance-embedded-check-${process.pid}`,
        name: 'conformance',
        ttlMs: 1_000,
        deregisterCriticalServiceAfterMs: 60_000,
      },
    };
    const candidates = (side: ConsulPort) =>
      side.readCandidates(service.name, { index: 0, waitMs: 0, timeoutMs: 5_000 });
    try {
      await scenario.both('register the service with its check', port, (side) =>
        side.registerService(service, 5_000),
      );
      await sessionStep(scenario, port, 'create a session bound to the check at once', {
        ttlMs: 60_000,
        lockDelayMs: 0,
        checks: [service.check.id],
      });
      const [passing] = await scenario.both('read the passing candidates', port, candidates);
      expect((passing as CandidatesRead).candidates).toHaveLength(1);
      const noneOn = async (side: ConsulPort) => (await candidates(side)).candidates.length === 0;
      expect(
        await eventually(
          async () => (await noneOn(consulPort)) && (await noneOn(inModel)),
          service.check.ttlMs + 3_000,
        ),
      ).toBe(true);
      await scenario.both('read the candidates once the check ran out', port, candidates);
      // A holder of an absent key reads every candidate, critical ones too, with its lease.
      const [all] = await scenario.both('read every candidate, its check critical', port, (side) =>
        side.readCandidates(service.name, {
          index: 0,
          waitMs: 0,
          timeoutMs: 5_000,
          includeCritical: true,
        }),
      );
      expect((all as CandidatesRead).candidates).toEqual([
        expect.objectContaining({ instanceId: 'embedded', leaseMs: 1_500 }),
      ]);
    } finally {
      for (const id of scenario.sessions.consul)
        await consulPort.destroySession(id, 5_000).catch(() => undefined);
      await consulPort.deregisterService(service.id, 5_000).catch(() => undefined);
      model.dispose();
    }
    process.stdout.write(
      `conformance (service with its check): ${scenario.compared} answers compared\n`,
    );
  }, 30_000);

  it('removes a check with its service: the sessions bound to it are invalidated, and an update of the check answers that the agent does not know it, as Consul does', async () => {
    const scenario = new Scenario('service deregistered');
    const { model, port: inModel } = modelSide(105);
    const port = { consul: consulPort, model: inModel };
    const key = `conformance/${process.pid}/deregistered/leader`;
    const service = {
      id: `conformance-deregistered-${process.pid}`,
      name: `conformance-deregistered-${process.pid}`,
      meta: {},
      check: {
        id: `conformance-deregistered-check-${process.pid}`,
        name: 'conformance',
        ttlMs: 30_000,
        deregisterCriticalServiceAfterMs: 60_000,
      },
    };
    const session = (side: 'consul' | 'model'): string => scenario.sessions[side][0];
    try {
      await scenario.both('register the service with its check', port, (side) =>
        side.registerService(service, 5_000),
      );
      await sessionStep(scenario, port, 'create a session bound to the check', {
        ttlMs: 60_000,
        lockDelayMs: 0,
        checks: [service.check.id],
      });
      await scenario.both('acquire the key', port, (side, which) =>
        side.acquire(
          { key, sessionId: session(which), value: 'held', expectedModifyIndex: 0 },
          5_000,
        ),
      );
      await scenario.both('deregister the service', port, (side) =>
        side.deregisterService(service.id, 5_000),
      );
      // At once in the model; on the agent as soon as the removal reaches the catalog.
      expect(await eventually(keyFreeOnBoth(key, port), 3_000)).toBe(true);
      const updated = await scenario.both('update the removed check', port, (side) =>
        side.passCheck(service.check.id, 5_000),
      );
      expect(updated).toEqual(['not-found', 'not-found']);
      const renewed = await scenario.both('renew the session bound to it', port, (side, which) =>
        side.renewSession(session(which), 5_000),
      );
      expect(renewed).toEqual(['not-found', 'not-found']);
      await scenario.both('register the service with its check again', port, (side) =>
        side.registerService(service, 5_000),
      );
      const again = await scenario.both('update the check registered again', port, (side) =>
        side.passCheck(service.check.id, 5_000),
      );
      expect(again).toEqual(['passed', 'passed']);
    } finally {
      for (const id of scenario.sessions.consul)
        await consulPort.destroySession(id, 5_000).catch(() => undefined);
      await consulPort.deregisterService(service.id, 5_000).catch(() => undefined);
      model.dispose();
    }
    process.stdout.write(
      `conformance (service deregistered): ${scenario.compared} answers compared\n`,
    );
  }, 30_000);

  it('answers the transactions of a fire claim as Consul does: check-session, cas, check-index, set, get and get-tree, and the 409 of each failing check with its operation index', async () => {
    const scenario = new Scenario('fire claim transactions');
    const { model, port: inModel } = modelSide(106);
    const port = { consul: consulPort, model: inModel };
    const prefix = `conformance/${process.pid}/cron`;
    const electionKey = `${prefix}/leader`;
    const record = `${prefix}/leader/jobs/nightly`;
    /** Per side, the record's ModifyIndex that side last saw (indexes differ between the sides). */
    const seen = { consul: [0], model: [0] };
    const session = (side: 'consul' | 'model', n = 0): string => scenario.sessions[side][n];
    const txn = (
      what: string,
      operations: (side: 'consul' | 'model') => TxnOperation[],
    ): Promise<[unknown, unknown]> => {
      const run = async (side: 'consul' | 'model'): Promise<unknown> => {
        const outcome = await port[side].transact(operations(side), 5_000);
        if (side === 'consul') {
          // The agent stamps every answer with its clock; the model sends no Date header.
          expect(Math.abs((outcome.serverDate ?? 0) - Date.now())).toBeLessThan(5_000);
        }
        if (outcome.ok) {
          const last = outcome.results.at(-1);
          if (last?.key === record) seen[side].push(last.modifyIndex);
          return { ok: true, results: outcome.results };
        }
        return { ok: false, errors: outcome.errors };
      };
      return scenario.step(
        what,
        () => run('consul'),
        () => run('model'),
      );
    };
    const latest = (side: 'consul' | 'model'): number => seen[side].at(-1)!;
    const claim = (side: 'consul' | 'model', index: number, value: string): TxnOperation[] => [
      { verb: 'check-session', key: electionKey, sessionId: session(side) },
      { verb: 'cas', key: record, index, value },
      { verb: 'get', key: record },
    ];
    try {
      await sessionStep(scenario, port, 'create the leader session', {
        ttlMs: 60_000,
        lockDelayMs: 0,
      });
      await sessionStep(scenario, port, 'create another session', {
        ttlMs: 60_000,
        lockDelayMs: 0,
      });
      await scenario.both('the leader acquires the election key', port, (side, which) =>
        side.acquire(
          { key: electionKey, sessionId: session(which), value: 'leader', expectedModifyIndex: 0 },
          5_000,
        ),
      );
      await txn('claim the first fire: cas at 0 creates the record', (side) =>
        claim(side, 0, 'T1'),
      );
      await txn('claim again at 0: the record exists, stale', (side) => claim(side, 0, 'T1 again'));
      await txn('claim the next fire at the index read', (side) => claim(side, latest(side), 'T2'));
      await txn('claim at the index before: stale', (side) =>
        claim(side, seen[side].at(-2)!, 'T3'),
      );
      await txn('another session claims: the session check fails first', (side) => [
        { verb: 'check-session', key: electionKey, sessionId: session(side, 1) },
        { verb: 'cas', key: record, index: latest(side), value: 'T3' },
      ]);
      await txn('every failing check is reported, with its operation index', (side) => [
        { verb: 'check-session', key: `${prefix}/absent`, sessionId: session(side) },
        { verb: 'check-index', key: record, index: seen[side].at(-2)! },
        { verb: 'get', key: `${prefix}/absent` },
        { verb: 'check-index', key: `${prefix}/absent`, index: 1 },
      ]);
      await txn('check-index at the index read, then set', (side) => [
        { verb: 'check-index', key: record, index: latest(side) },
        { verb: 'set', key: record, value: 'outcome' },
        { verb: 'get', key: record },
      ]);
      await txn('a set of the same value writes nothing: the index stays', () => [
        { verb: 'set', key: record, value: 'outcome' },
        { verb: 'get', key: record },
      ]);
      await txn("describe()'s listing: get-tree returns every key under the jobs prefix", () => [
        { verb: 'get-tree', key: `${prefix}/leader/jobs/` },
      ]);
      await txn('get-tree of a prefix with no key: no entry, no failure', () => [
        { verb: 'get-tree', key: `${prefix}/none/` },
      ]);
      const alive = await scenario.both('the leader session is alive', port, (side, which) =>
        (side as NodeConsulPort).sessionAlive(session(which), 5_000),
      );
      expect(alive).toEqual([true, true]);
      await scenario.both('destroy the leader session', port, (side, which) =>
        side.destroySession(session(which), 5_000),
      );
      const gone = await scenario.both('the destroyed session is gone', port, (side, which) =>
        (side as NodeConsulPort).sessionAlive(session(which), 5_000),
      );
      expect(gone).toEqual([false, false]);
      await txn('the deposed leader claims late: its session no longer holds the key', (side) =>
        claim(side, latest(side), 'late'),
      );
    } finally {
      for (const id of scenario.sessions.consul)
        await consulPort.destroySession(id, 5_000).catch(() => undefined);
      model.dispose();
    }
    process.stdout.write(`conformance (fire claim): ${scenario.compared} answers compared\n`);
  }, 30_000);

  it("answers a tree read of the jobs' owner keys as Consul does: every key under the prefix, in key order, each with its value and holder, and none when the prefix is empty", async () => {
    const scenario = new Scenario('owner keys tree read');
    const { model, port: inModel } = modelSide(107);
    const port = { consul: consulPort, model: inModel };
    const owners = `conformance/${process.pid}/spread/leader/owners/`;
    const session = (side: 'consul' | 'model', n: number): string => scenario.sessions[side][n];
    const tree = (what: string, prefix = owners): Promise<[unknown, unknown]> =>
      scenario.both(what, port, (side) => (side as NodeConsulPort).readTree(prefix, 5_000));
    try {
      await tree('no owner key yet: an empty answer, not an error');
      await sessionStep(scenario, port, "create instance a's session", {
        ttlMs: 60_000,
        lockDelayMs: 0,
      });
      await sessionStep(scenario, port, "create instance b's session", {
        ttlMs: 60_000,
        lockDelayMs: 0,
      });
      // Acquired out of key order, so that the answer's order is Consul's, not the writes'.
      for (const [job, n] of [
        ['reports', 1],
        ['billing', 0],
        ['cleanup', 0],
      ] as const) {
        await scenario.both(`session ${n} acquires ${job}`, port, (side, which) =>
          side.acquire(
            {
              key: `${owners}${job}`,
              sessionId: session(which, n),
              value: `{"instanceId":"${n}"}`,
              expectedModifyIndex: 0,
            },
            5_000,
          ),
        );
      }
      // A key that only shares the prefix's text without its slash is not under it.
      await scenario.step(
        'a sibling key beside the prefix',
        async () => {
          const response = await fetch(`${agent.address}/v1/kv/${owners.replace(/\/$/, '-x')}`, {
            method: 'PUT',
            body: 'other',
            signal: AbortSignal.timeout(5_000),
          });
          return response.json();
        },
        () => Promise.resolve(model.kvPut(owners.replace(/\/$/, '-x'), 'other').body),
      );
      await tree('three owner keys, in key order, with values and sessions');
      await scenario.both(
        'b destroys its session: reports is freed, value kept',
        port,
        (side, which) => side.destroySession(session(which, 1), 5_000),
      );
      await tree('reports free (no session), the others still held');
    } finally {
      for (const id of scenario.sessions.consul)
        await consulPort.destroySession(id, 5_000).catch(() => undefined);
      model.dispose();
    }
    process.stdout.write(`conformance (owners tree): ${scenario.compared} answers compared\n`);
  }, 30_000);

  // Last: it wipes the agent every other test here uses.
  it('forgets every session and key when a dev agent restarts, and its indexes start over, as Consul does', async () => {
    const scenario = new Scenario('agent restart');
    const { model, port: inModel } = modelSide(103);
    const key = `conformance/${process.pid}/restart/leader`;
    let restarted: NodeConsulPort | undefined;
    const port = { consul: consulPort as ConsulPort, model: inModel };
    const session = (side: 'consul' | 'model', i: number): string => scenario.sessions[side][i];
    try {
      await sessionStep(scenario, port, 'create a session', { ttlMs: 60_000, lockDelayMs: 15_000 });
      const acquire = (side: 'consul' | 'model', i: number) => () =>
        port[side].acquire(
          { key, sessionId: session(side, i), value: 'held', expectedModifyIndex: 0 },
          5_000,
        );
      await scenario.step('acquire the key', acquire('consul', 0), acquire('model', 0));
      const [before] = await scenario.step(
        'read the key',
        () => port.consul.readKey(key, { timeoutMs: 5_000 }),
        () => port.model.readKey(key, { timeoutMs: 5_000 }),
      );
      const modelBefore = (await inModel.readKey(key, { timeoutMs: 5_000 })).index;
      await agent.restart();
      model.restart(true);
      // Fresh sockets: the old keep-alive ones went with the agent.
      restarted = new NodeConsulPort({ host: agent.host, port: agent.port, secure: false });
      port.consul = restarted;
      scenario.indexesStartOver();
      await scenario.step(
        'renew the session from before the restart',
        () => port.consul.renewSession(session('consul', 0), 5_000),
        () => port.model.renewSession(session('model', 0), 5_000),
      );
      const [after] = await scenario.step(
        'read the key',
        () => port.consul.readKey(key, { timeoutMs: 5_000 }),
        () => port.model.readKey(key, { timeoutMs: 5_000 }),
      );
      await scenario.step(
        'the read index went back',
        async () => (after as { index: number }).index < (before as { index: number }).index,
        async () => (await inModel.readKey(key, { timeoutMs: 5_000 })).index < modelBefore,
      );
      await sessionStep(scenario, port, 'create a session', { ttlMs: 60_000, lockDelayMs: 15_000 });
      await scenario.step(
        'acquire the key again (no lock-delay: the restart forgot it)',
        acquire('consul', 1),
        acquire('model', 1),
      );
      await scenario.step(
        'read the key',
        () => port.consul.readKey(key, { timeoutMs: 5_000 }),
        () => port.model.readKey(key, { timeoutMs: 5_000 }),
      );
    } finally {
      for (const id of scenario.sessions.consul)
        await port.consul.destroySession(id, 5_000).catch(() => undefined);
      restarted?.close();
      model.dispose();
    }
    process.stdout.write(`conformance (agent restart): ${scenario.compared} answers compared\n`);
  }, 60_000);
});

describe('the Consul model against a real agent with ACLs', () => {
  const managementToken = 'b1f3c2d4-0000-4000-8000-00000000c0de';
  let agent: ConsulAgent;
  let readOnlyToken: string;
  beforeAll(async () => {
    agent = await startConsulAgent({ acl: { defaultPolicy: 'deny', managementToken } });
    await call('/v1/acl/policy', {
      Name: 'conformance-read',
      Rules: 'key_prefix "" { policy = "read" }',
    });
    const token = await call('/v1/acl/token', { Policies: [{ Name: 'conformance-read' }] });
    readOnlyToken = token.SecretID as string;
  }, 60_000);
  afterAll(async () => {
    await agent?.stop();
  });

  it('denies what a token may not do, and only that, as Consul does', async () => {
    const scenario = new Scenario('ACL');
    const random = new Prng(104);
    const model = new ConsulModel(systemClock, () => random.next());
    // The model's tokens: the management token may do everything, the read-only one reads keys,
    // the anonymous token (default policy deny) nothing.
    model.deny(readOnlyToken, ['key:write', 'session:read', 'session:write', 'service:write']);
    model.deny('', ['key:read', 'key:write', 'session:read', 'session:write', 'service:write']);
    const ports = (token: string): { consul: NodeConsulPort; model: NodeConsulPort } => ({
      consul: new NodeConsulPort({ host: agent.host, port: agent.port, secure: false, token }),
      model: modelPort(model, undefined, token),
    });
    const admin = ports(managementToken);
    const reader = ports(readOnlyToken);
    const anonymous = ports('');
    const key = `conformance/${process.pid}/acl/leader`;
    const service = { id: `conformance-acl-${process.pid}`, name: 'conformance', meta: {} };
    const session = (which: 'consul' | 'model', i: number): string => scenario.sessions[which][i];
    const createSession = async (side: ConsulPort, which: 'consul' | 'model') => {
      const id = await side.createSession(
        { name: 'conformance', ttlMs: 60_000, lockDelayMs: 0, checks: [] },
        5_000,
      );
      scenario.sessions[which].push(id);
      return { created: true };
    };
    const acquire = (i: number) => (side: ConsulPort, which: 'consul' | 'model') =>
      side.acquire(
        { key, sessionId: session(which, i), value: 'held', expectedModifyIndex: 0 },
        5_000,
      );
    try {
      await scenario.both('management token: create a session', admin, createSession);
      await scenario.both('read-only token: create a session', reader, createSession);
      await scenario.both('anonymous: create a session', anonymous, createSession);
      await scenario.both('read-only token: read the key', reader, (side) =>
        side.readKey(key, { timeoutMs: 5_000 }),
      );
      await scenario.both('anonymous: read the key', anonymous, (side) =>
        side.readKey(key, { timeoutMs: 5_000 }),
      );
      await scenario.both('read-only token: acquire with a session', reader, acquire(0));
      await scenario.both('read-only token: confirm a hold', reader, (side, which) =>
        side.confirmHolding(key, session(which, 0), 5_000),
      );
      await scenario.both('management token: acquire', admin, acquire(0));
      const claim = (which: 'consul' | 'model'): TxnOperation[] => [
        { verb: 'check-session', key, sessionId: session(which, 0) },
        { verb: 'cas', key: `${key}/jobs/nightly`, index: 0, value: 'claimed' },
        { verb: 'get', key: `${key}/jobs/nightly` },
      ];
      await scenario.both('read-only token: claim a fire', reader, (side, which) =>
        (side as NodeConsulPort).transact(claim(which), 5_000).then(withoutDate),
      );
      await scenario.both('management token: claim a fire', admin, (side, which) =>
        (side as NodeConsulPort).transact(claim(which), 5_000).then(withoutDate),
      );
      // Consul filters what a token may not read: a live session looks gone.
      await scenario.both('read-only token: is the leader session alive', reader, (side, which) =>
        (side as NodeConsulPort).sessionAlive(session(which, 0), 5_000),
      );
      await scenario.both('anonymous: is the leader session alive', anonymous, (side, which) =>
        (side as NodeConsulPort).sessionAlive(session(which, 0), 5_000),
      );
      await scenario.both('read-only token: confirm the hold', reader, (side, which) =>
        side.confirmHolding(key, session(which, 0), 5_000),
      );
      await scenario.both('read-only token: renew the session', reader, (side, which) =>
        side.renewSession(session(which, 0), 5_000),
      );
      await scenario.both('read-only token: release', reader, async (side, which) =>
        side.release(
          {
            key,
            sessionId: session(which, 0),
            value: 'released',
            expectedModifyIndex: (await side.readKey(key, { timeoutMs: 5_000 })).entry!.modifyIndex,
          },
          5_000,
        ),
      );
      await scenario.both('read-only token: register a service', reader, (side) =>
        side.registerService(service, 5_000),
      );
      await scenario.both('management token: register a service', admin, (side) =>
        side.registerService(service, 5_000),
      );
      await scenario.both('read-only token: deregister it', reader, (side) =>
        side.deregisterService(service.id, 5_000),
      );
      await scenario.both('read-only token: destroy the session', reader, (side, which) =>
        side.destroySession(session(which, 0), 5_000),
      );
    } finally {
      for (const id of scenario.sessions.consul)
        await admin.consul.destroySession(id, 5_000).catch(() => undefined);
      await admin.consul.deregisterService(service.id, 5_000).catch(() => undefined);
      for (const via of [admin, reader, anonymous]) via.consul.close();
      model.dispose();
    }
    process.stdout.write(`conformance (ACL): ${scenario.compared} answers compared\n`);
  }, 30_000);

  // Issue 18: an operator edits one instance's policy while it holds the key. What it may still do
  // (renew, pass its check, destroy its session) and may not (read, confirm, release; or renew and
  // destroy) must match, since the election's way out of a refused release rests on it.
  it('takes away the key rule or the session rule of a token that holds the key, as Consul does', async () => {
    const scenario = new Scenario('partial ACL');
    const random = new Prng(105);
    const model = new ConsulModel(systemClock, () => random.next());
    model.deny('', ['key:read', 'key:write', 'session:write', 'service:write']);
    const rules = {
      key: 'key_prefix "" { policy = "write" }',
      session: 'session_prefix "" { policy = "write" }',
      service: 'service_prefix "" { policy = "write" }',
    };
    const policy = await call('/v1/acl/policy', {
      Name: `conformance-partial-${process.pid}`,
      Rules: Object.values(rules).join('\n'),
    });
    const secret = (await call('/v1/acl/token', { Policies: [{ ID: policy.ID }] }))
      .SecretID as string;
    /** The operator's edit: the policy keeps only `kept`; the model's token loses the rest. */
    const edit = (what: string, kept: Array<keyof typeof rules>, scope: AclScope | null) =>
      scenario.step(
        what,
        async () => {
          await call(`/v1/acl/policy/${policy.ID as string}`, {
            Name: policy.Name,
            Rules: kept.map((rule) => rules[rule]).join('\n'),
          });
          return { edited: true };
        },
        async () => {
          if (scope) model.revoke(secret, scope);
          else model.deny(secret, []);
          return { edited: true };
        },
      );
    const ports = (token: string): { consul: NodeConsulPort; model: ConsulPort } => ({
      consul: new NodeConsulPort({ host: agent.host, port: agent.port, secure: false, token }),
      model: modelPort(model, undefined, token),
    });
    const admin = ports(managementToken);
    const instance = ports(secret);
    const key = `conformance/${process.pid}/partial-acl/leader`;
    const checkId = `conformance-partial-${process.pid}:alive`;
    const service = {
      id: `conformance-partial-${process.pid}`,
      name: 'conformance-partial',
      meta: {},
      check: {
        id: checkId,
        name: 'alive',
        ttlMs: 60_000,
        deregisterCriticalServiceAfterMs: 60_000,
      },
    };
    const session = (which: 'consul' | 'model', i: number): string => scenario.sessions[which][i];
    const createSession = async (side: ConsulPort, which: 'consul' | 'model') => {
      const id = await side.createSession(
        { name: 'conformance', ttlMs: 60_000, lockDelayMs: 0, checks: [checkId] },
        5_000,
      );
      scenario.sessions[which].push(id);
      return { created: true };
    };
    const acquire = (i: number) => async (side: ConsulPort, which: 'consul' | 'model') =>
      side.acquire(
        {
          key,
          sessionId: session(which, i),
          value: 'held',
          expectedModifyIndex:
            (
              await (which === 'consul' ? admin.consul : admin.model).readKey(key, {
                timeoutMs: 5_000,
              })
            ).entry?.modifyIndex ?? 0,
        },
        5_000,
      );
    const release = (i: number) => async (side: ConsulPort, which: 'consul' | 'model') =>
      side.release(
        {
          key,
          sessionId: session(which, i),
          value: 'released',
          expectedModifyIndex: (
            await (which === 'consul' ? admin.consul : admin.model).readKey(key, {
              timeoutMs: 5_000,
            })
          ).entry!.modifyIndex,
        },
        5_000,
      );
    const readByAdmin = (side: ConsulPort, which: 'consul' | 'model') =>
      (which === 'consul' ? admin.consul : admin.model).readKey(key, { timeoutMs: 5_000 });
    try {
      await scenario.both('every rule: register the service and its check', instance, (side) =>
        side.registerService(service, 5_000),
      );
      await scenario.both('every rule: create a session', instance, createSession);
      await scenario.both('every rule: acquire', instance, acquire(0));
      await edit('the policy loses its key rule', ['session', 'service'], 'key');
      await scenario.both(
        'no key rule: read the key',
        instance,
        withBody((side) => side.readKey(key, { timeoutMs: 5_000 })),
      );
      await scenario.both(
        'no key rule: confirm the hold',
        instance,
        withBody((side, which) => side.confirmHolding(key, session(which, 0), 5_000)),
      );
      await scenario.both('no key rule: release', instance, withBody(release(0)));
      await scenario.both('no key rule: renew the session', instance, (side, which) =>
        side.renewSession(session(which, 0), 5_000),
      );
      await scenario.both('no key rule: pass the check', instance, (side) =>
        side.passCheck(checkId, 5_000),
      );
      await scenario.both('no key rule: the key is still held', admin, readByAdmin);
      await scenario.both('no key rule: destroy the session', instance, (side, which) =>
        side.destroySession(session(which, 0), 5_000),
      );
      await scenario.both('no key rule: the key is free', admin, readByAdmin);
      await scenario.both('no key rule: create a session', instance, createSession);
      await scenario.both('no key rule: acquire', instance, withBody(acquire(1)));

      await edit('the policy gets every rule back', ['key', 'session', 'service'], null);
      await scenario.both('every rule: acquire', instance, acquire(1));
      await edit('the policy loses its session rule', ['key', 'service'], 'session');
      await scenario.both(
        'no session rule: renew the session',
        instance,
        withBody((side, which) => side.renewSession(session(which, 1), 5_000)),
      );
      await scenario.both(
        'no session rule: renew a session Consul no longer knows',
        instance,
        withBody((side, which) => side.renewSession(session(which, 0), 5_000)),
      );
      await scenario.both('no session rule: confirm the hold', instance, (side, which) =>
        side.confirmHolding(key, session(which, 1), 5_000),
      );
      await scenario.both('no session rule: pass the check', instance, (side) =>
        side.passCheck(checkId, 5_000),
      );
      await scenario.both(
        'no session rule: destroy the session',
        instance,
        withBody((side, which) => side.destroySession(session(which, 1), 5_000)),
      );
      await scenario.both('no session rule: create a session', instance, withBody(createSession));
      await scenario.both('no session rule: release', instance, release(1));
      await scenario.both('no session rule: the key is free', admin, readByAdmin);
    } finally {
      for (const id of scenario.sessions.consul)
        await admin.consul.destroySession(id, 5_000).catch(() => undefined);
      await admin.consul.deregisterService(service.id, 5_000).catch(() => undefined);
      for (const via of [admin, instance]) via.consul.close();
      model.dispose();
    }
    process.stdout.write(`conformance (partial ACL): ${scenario.compared} answers compared\n`);
  }, 30_000);

  /** An ACL endpoint of the agent, called with the management token. */
  function call(path: string, body: unknown): Promise<Record<string, unknown>> {
    return aclPut(agent, managementToken, path, body);
  }
});

/** A step whose refusal is compared with Consul's body too (the 403's text), not only its status. */
function withBody<A extends unknown[]>(
  step: (...args: A) => Promise<unknown>,
): (...args: A) => Promise<unknown> {
  return async (...args) => {
    try {
      return await step(...args);
    } catch (error) {
      if (error instanceof ConsulRequestError)
        return { error: error.kind, status: error.status, body: error.body };
      throw error;
    }
  };
}
