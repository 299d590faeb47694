import { ConsulRequestError, NodeConsulPort } from '../../../lib/election';
import { startConsulAgent, type ConsulAgent } from '../../../harness';
import { uniqueKey } from '../../support/election-kit';

describe('the Consul port on the consul npm client', () => {
  describe('with nothing listening', () => {
    const port = new NodeConsulPort({ host: '127.0.0.1', port: 1, secure: false });
    afterAll(() => port.close());

    // Under Jest, Node's socket errors come from another realm; the client then *resolves* with the
    // error instead of rejecting. Taken as an answer, it confirmed holds Consul never confirmed.
    it.each([
      ['confirmHolding', () => port.confirmHolding('k', 's', 500)],
      [
        'acquire',
        () => port.acquire({ key: 'k', sessionId: 's', value: '{}', expectedModifyIndex: 0 }, 500),
      ],
      [
        'createSession',
        () => port.createSession({ name: 'n', ttlMs: 10_000, lockDelayMs: 0, checks: [] }, 500),
      ],
      ['renewSession', () => port.renewSession('s', 500)],
      [
        'release',
        () => port.release({ key: 'k', sessionId: 's', value: '{}', expectedModifyIndex: 1 }, 500),
      ],
      ['passCheck', () => port.passCheck('c', 500)],
      ['readKey', () => port.readKey('k', { timeoutMs: 500 })],
    ])('%s fails as unreachable instead of answering', async (_name, call) => {
      const failure = await call().then(
        (value) => ({ resolvedWith: value }),
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(ConsulRequestError);
      expect((failure as ConsulRequestError).kind).toBe('unreachable');
    });
  });

  describe('against a real agent', () => {
    let agent: ConsulAgent;
    let port: NodeConsulPort;
    beforeAll(async () => {
      agent = await startConsulAgent();
      port = new NodeConsulPort({ host: agent.host, port: agent.port, secure: false });
    });
    afterAll(async () => {
      port?.close();
      await agent?.stop();
    });

    it('reads an absent key as no entry, with an index for the next blocking query', async () => {
      const read = await port.readKey(uniqueKey('absent'), { timeoutMs: 2_000 });
      expect(read.entry).toBeNull();
      expect(read.index).toBeGreaterThan(0);
    });

    it('acquires only over the observed state, and confirms the hold until the session is gone', async () => {
      const key = uniqueKey('port');
      const session = await port.createSession(
        { name: 'spec', ttlMs: 10_000, lockDelayMs: 0, checks: [] },
        2_000,
      );
      const other = await port.createSession(
        { name: 'spec-2', ttlMs: 10_000, lockDelayMs: 0, checks: [] },
        2_000,
      );
      const first = await port.acquire(
        { key, sessionId: session, value: '{"a":1}', expectedModifyIndex: 0 },
        2_000,
      );
      expect(first).toMatchObject({ acquired: true, lockIndex: 1 });
      const stale = await port.acquire(
        { key, sessionId: other, value: '{}', expectedModifyIndex: 0 },
        2_000,
      );
      expect(stale).toMatchObject({ acquired: false, reason: 'changed' });
      expect(await port.confirmHolding(key, session, 2_000)).toBe(true);
      expect(await port.confirmHolding(key, other, 2_000)).toBe(false);

      await port.destroySession(session, 2_000);
      expect(await port.confirmHolding(key, session, 2_000)).toBe(false);
      expect(await port.renewSession(session, 2_000)).toBe('not-found');
      await port.destroySession(other, 2_000);
    });

    it('reports an unknown check as not found', async () => {
      expect(await port.passCheck('no-such-check', 2_000)).toBe('not-found');
    });
  });
});
