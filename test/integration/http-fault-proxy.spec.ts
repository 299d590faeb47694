import { startConsulAgent, type ConsulAgent } from '../../harness';
import { readKeyEntry } from '../support/consul-operator';
import { pollUntil, uniqueKey } from '../support/election-kit';
import { startHttpFaultProxy, type HttpFaultProxy } from '../../harness/http-fault-proxy';

describe('the HTTP fault proxy in front of a real agent', () => {
  let agent: ConsulAgent;
  let proxy: HttpFaultProxy;

  beforeAll(async () => {
    agent = await startConsulAgent({ forceLocal: true });
  });
  beforeEach(async () => {
    proxy = await startHttpFaultProxy(agent);
  });
  afterEach(async () => {
    await proxy.close();
  });
  afterAll(async () => {
    await agent?.stop();
  });

  const put = (key: string, body: string, timeoutMs = 2_000): Promise<Response> =>
    fetch(`${proxy.address}/v1/kv/${key}`, {
      method: 'PUT',
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });

  it('forwards requests to the agent and counts them by method, path, query and body', async () => {
    const key = uniqueKey('proxy-forward');
    expect((await (await put(key, 'hello')).text()).trim()).toBe('true');
    const read = await fetch(`${proxy.address}/v1/kv/${key}?raw`);
    expect(await read.text()).toBe('hello');
    expect(proxy.count({ method: 'PUT', path: `/v1/kv/${key}`, body: /hello/ })).toBe(1);
    expect(proxy.count({ method: 'GET', query: { raw: true } })).toBe(1);
    expect(proxy.count({ method: 'GET', query: { raw: 'no' } })).toBe(0);
  });

  it('holds back an answer: Consul applies the request while the client times out', async () => {
    const key = uniqueKey('proxy-hold');
    proxy.inject({ method: 'PUT', path: `/v1/kv/${key}` }, { kind: 'hold', ms: 1_000 });
    const startedAt = performance.now();
    await expect(put(key, 'applied', 200)).rejects.toThrow();
    expect(performance.now() - startedAt).toBeLessThan(900);
    expect((await readKeyEntry(agent, key))?.value).toBe('applied');
    expect(proxy.seen.at(-1)?.fate).toBe('held');
  });

  it('answers a chosen status and body without forwarding, until the fault is removed', async () => {
    const key = uniqueKey('proxy-answer');
    const remove = proxy.inject(
      { method: 'PUT', path: `/v1/kv/${key}` },
      { kind: 'answer', status: 429, body: 'Too Many Requests' },
    );
    const refused = await put(key, 'never');
    expect([refused.status, await refused.text()]).toEqual([429, 'Too Many Requests']);
    expect(await readKeyEntry(agent, key)).toBeNull();
    remove();
    expect((await put(key, 'now')).status).toBe(200);
    expect((await readKeyEntry(agent, key))?.value).toBe('now');
  });

  it('counts matching requests per whole second', async () => {
    const key = uniqueKey('proxy-rate');
    const from = performance.now();
    for (let i = 0; i < 3; i++) await put(key, String(i));
    await pollUntil('a whole second', () => performance.now() - from > 1_000 || undefined);
    expect(proxy.perSecond({ method: 'PUT' }, from, 5)).toEqual([3]);
  });
});
