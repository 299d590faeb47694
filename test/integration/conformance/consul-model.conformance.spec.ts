// The Consul model is only as good as its agreement with Consul: the same seeded random operation
// sequences run against a real agent and against the model, through the same NodeConsulPort (and
// raw HTTP for what the port never does: an operator's plain PUT and delete), and every answer is
// compared. Indexes are compared by order, not value (a real agent takes Raft indexes for its own
// bookkeeping too): the n-th distinct index seen on one side must sit where the other side's does.
// Session ids are compared the same way, by creation order. Where the two disagree, the model is wrong.
import {
  ConsulRequestError,
  NodeConsulPort,
  systemClock,
  type ConsulPort,
} from '../../../lib/election';
import { startConsulAgent, type ConsulAgent } from '../../../harness';
import { ConsulModel } from '../../support/consul-model';
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

const INDEX_FIELDS = new Set(['index', 'modifyIndex']);

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
});
