import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a request to Consul does, as the benchmark counts it. */
export type RequestKind =
  | 'acquire'
  | 'successors-write'
  | 'release'
  | 'confirm'
  | 'txn-other'
  | 'session-create'
  | 'session-renew'
  | 'session-destroy'
  | 'check-register'
  | 'check-pass'
  | 'service-register'
  | 'service-deregister'
  | 'kv-write'
  | 'other-write'
  | 'read';

export interface CountedRequest {
  /** Wall-clock ms when the request arrived (comparable with the children's timestamps). */
  readonly at: number;
  readonly kind: RequestKind;
  readonly method: string;
  readonly path: string;
  /** What the request is about, to tell whose it is: the check id of a check registration, else the path. */
  readonly subject: string;
  /** Consul's HTTP status and when it answered (wall-clock ms); null while pending. */
  status: number | null;
  answeredAt: number | null;
}

/** Everything but reads changes Consul's state (and goes through Raft for KV and sessions). */
export const isWrite = (kind: RequestKind): boolean => kind !== 'read';

/**
 * An HTTP forwarder on 127.0.0.1 in front of the agent that records every request's kind and time,
 * so that a scenario can count what a failover or a minute of steady state costs Consul. Bodies
 * pass through untouched; a transaction's body is read to tell an acquire from a confirmation.
 */
export class CountingProxy {
  readonly requests: CountedRequest[] = [];
  private server: http.Server | null = null;
  private readonly upstream = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  private readonly sockets = new Set<import('node:net').Socket>();
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<this> {
    const server = http.createServer((request, response) => this.forward(request, response));
    server.keepAliveTimeout = 120_000;
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port: 0 }, () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  get address(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The requests that arrived in [from, to). */
  between(from: number, to: number): CountedRequest[] {
    return this.requests.filter((request) => request.at >= from && request.at < to);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.upstream.destroy();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private forward(request: http.IncomingMessage, response: http.ServerResponse): void {
    const at = performance.timeOrigin + performance.now();
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      const method = request.method ?? 'GET';
      const url = request.url ?? '/';
      const kind = classifyRequest(method, url, body);
      const path = url.split('?')[0];
      const subject =
        kind === 'check-register'
          ? (checkIdOf(body) ?? path)
          : path === '/v1/txn'
            ? `txn ${txnVerbs(body).join(',')}`
            : path;
      const record: CountedRequest = {
        at,
        kind,
        method,
        path,
        subject,
        status: null,
        answeredAt: null,
      };
      this.requests.push(record);
      const outgoing = http.request(
        {
          host: this.target.host,
          port: this.target.port,
          method,
          path: url,
          headers: request.headers,
          agent: this.upstream,
        },
        (answer) => {
          record.status = answer.statusCode ?? null;
          record.answeredAt = performance.timeOrigin + performance.now();
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(response);
        },
      );
      outgoing.on('error', () => {
        if (!response.headersSent) response.writeHead(502);
        response.end();
      });
      response.on('close', () => {
        if (!response.writableFinished) outgoing.destroy();
      });
      outgoing.end(body);
    });
  }
}

export function classifyRequest(method: string, url: string, body: Buffer): RequestKind {
  const [path, query = ''] = url.split('?');
  if (method === 'GET' || method === 'HEAD') return 'read';
  if (path === '/v1/txn') {
    const verbs = txnVerbs(body);
    // The leader rewriting its successors: a lock by the session that already holds the key.
    if (verbs.includes('lock') && verbs.includes('check-session')) return 'successors-write';
    if (verbs.includes('lock')) return 'acquire';
    if (verbs.includes('unlock')) return 'release';
    if (
      verbs.includes('check-session') &&
      verbs.every((verb) => verb === 'check-session' || verb === 'get' || verb === 'check-index')
    )
      return 'confirm';
    return 'txn-other';
  }
  if (path.startsWith('/v1/kv/')) {
    if (/(^|&)acquire=/.test(query)) return 'acquire';
    if (/(^|&)release=/.test(query)) return 'release';
    return 'kv-write';
  }
  if (path === '/v1/session/create') return 'session-create';
  if (path.startsWith('/v1/session/renew/')) return 'session-renew';
  if (path.startsWith('/v1/session/destroy/')) return 'session-destroy';
  if (path === '/v1/agent/check/register') return 'check-register';
  if (path.startsWith('/v1/agent/check/pass/') || path.startsWith('/v1/agent/check/update/'))
    return 'check-pass';
  if (path === '/v1/agent/service/register') return 'service-register';
  if (path.startsWith('/v1/agent/service/deregister/')) return 'service-deregister';
  return 'other-write';
}

/** The KV verbs of a transaction body, in order (`lock`, `unlock`, `check-session`, …). */
function txnVerbs(body: Buffer): string[] {
  try {
    const operations = JSON.parse(body.toString('utf8')) as Array<{ KV?: { Verb?: string } }>;
    return operations.map((operation) => operation.KV?.Verb ?? '?');
  } catch {
    return [];
  }
}

function checkIdOf(body: Buffer): string | undefined {
  try {
    return (JSON.parse(body.toString('utf8')) as { ID?: string }).ID;
  } catch {
    return undefined;
  }
}

/** Counts by kind, e.g. `{ acquire: 1, read: 51 }`. */
export function countByKind(
  requests: readonly CountedRequest[],
): Partial<Record<RequestKind, number>> {
  const counts: Partial<Record<RequestKind, number>> = {};
  for (const request of requests) counts[request.kind] = (counts[request.kind] ?? 0) + 1;
  return counts;
}
