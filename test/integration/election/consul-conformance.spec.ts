// What newer Consul versions expect of a client, checked on the wire against a real agent through a
// recording HTTP proxy that also answers as Consul 1.17+ does in dev mode (compact JSON, no pretty
// printing): the token only in the X-Consul-Token header (the ?token= parameter is deprecated), a
// non-empty body with a Content-Length on every PUT (CE 1.22 checks the length of writes), and no
// reliance on whitespace in answers.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startConsulAgent, type ConsulAgent } from '../../../harness';
import { createElection, uniqueKey, waitForState } from '../../support/election-kit';
import type { LeaderElection } from '../../../lib/election';

interface Recorded {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly bodyBytes: number;
}

/** Forwards to `target`, records every request, and re-encodes JSON answers without whitespace. */
async function startCompactJsonProxy(target: { host: string; port: number }) {
  const recorded: Recorded[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      recorded.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        bodyBytes: body.length,
      });
      const upstream = http.request(
        {
          host: target.host,
          port: target.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (answer) => {
          const parts: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => parts.push(chunk));
          answer.on('end', () => {
            let payload = Buffer.concat(parts);
            if (/json/.test(String(answer.headers['content-type'])) && payload.length > 0) {
              payload = Buffer.from(JSON.stringify(JSON.parse(payload.toString('utf8'))));
            }
            const headers = { ...answer.headers, 'content-length': String(payload.length) };
            delete headers['transfer-encoding'];
            res.writeHead(answer.statusCode ?? 502, headers);
            res.end(payload);
          });
        },
      );
      upstream.on('error', () => res.destroy());
      // A client that gives up on a blocking query closes the response: end the upstream one too.
      res.on('close', () => {
        if (!res.writableEnded) upstream.destroy();
      });
      upstream.end(body);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    recorded,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('Consul beyond 1.8, on the wire', () => {
  let agent: ConsulAgent;
  let proxy: Awaited<ReturnType<typeof startCompactJsonProxy>>;
  const elections: LeaderElection[] = [];

  beforeAll(async () => {
    agent = await startConsulAgent();
    proxy = await startCompactJsonProxy(agent);
  });
  afterEach(async () => {
    await Promise.all(elections.splice(0).map((election) => election.stop()));
  });
  afterAll(async () => {
    await proxy?.close();
    await agent?.stop();
  });

  const through = (key: string, id: string) => {
    const election = createElection({ host: '127.0.0.1', port: proxy.port }, key, id, {
      consul: { host: '127.0.0.1', port: proxy.port, token: 'conformance-token' },
    });
    elections.push(election);
    return election;
  };

  it('elects and fails over on compact JSON answers, sending the token only as a header and a body with every PUT', async () => {
    const key = uniqueKey('conformance');
    const first = through(key, 'first');
    first.start();
    await waitForState(first, (state) => state.role === 'leader', 15_000, 'leader');
    const second = through(key, 'second');
    second.start();
    await waitForState(
      second,
      (state) => state.leader?.instanceId === 'first',
      15_000,
      'leader read',
    );
    await first.stop();
    await waitForState(second, (state) => state.role === 'leader', 15_000, 'failover');

    const puts = proxy.recorded.filter((request) => request.method === 'PUT');
    // Session, service and check registration, renewals and updates, transactions, destroy.
    expect(
      new Set(puts.map((request) => request.url.split('?')[0]!.replace(/[0-9a-f-]{36}/, '<id>')))
        .size,
    ).toBeGreaterThan(4);
    for (const request of puts) {
      expect({ url: request.url, bodyBytes: request.bodyBytes > 0 }).toEqual({
        url: request.url,
        bodyBytes: true,
      });
      expect({ url: request.url, length: request.headers['content-length'] }).toEqual({
        url: request.url,
        length: String(request.bodyBytes),
      });
    }
    for (const request of proxy.recorded) {
      expect(request.url).not.toMatch(/[?&]token=/);
      expect({ url: request.url, token: request.headers['x-consul-token'] }).toEqual({
        url: request.url,
        token: 'conformance-token',
      });
    }
  });

  it('elects on a key with every character class current Consul accepts', async () => {
    const key = `${uniqueKey('conformance')}/a,b-c_d.e/v1.2/leader`;
    const election = through(key, 'only');
    election.start();
    const state = await waitForState(election, (s) => s.role === 'leader', 15_000, 'leader');
    expect(state.leader?.instanceId).toBe('only');
  });
});
