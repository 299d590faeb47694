import * as http from 'node:http';
import type * as net from 'node:net';

/** One HTTP request as the proxy saw it on its way to the agent. */
export interface SeenRequest {
  readonly method: string;
  /** The path without the query, e.g. `/v1/txn`. */
  readonly path: string;
  readonly query: URLSearchParams;
  /** The request body as text ('' when none). */
  readonly body: string;
  /** `performance.now()` of this process when the request had fully arrived. */
  readonly at: number;
  /** What the proxy did with it. */
  readonly fate: 'forwarded' | 'held' | 'dropped' | 'answered';
  /** The status Consul (or an `answer` fault) gave, and when it reached the proxy; null while pending. */
  status: number | null;
  answeredAt: number | null;
}

/** Which requests a fault or a count applies to; every given field must match. */
export interface RequestPattern {
  readonly method?: string;
  readonly path?: string | RegExp;
  /** Query parameters that must be present, with this value (`true`: any value). */
  readonly query?: Readonly<Record<string, string | true>>;
  readonly body?: RegExp | ((body: string) => boolean);
}

/**
 * What to do with a matching request:
 * - `hold`: forward it (Consul applies it), then keep its answer back for `ms` before passing it on;
 *   a client whose timeout is shorter gives up meanwhile, as on a slow Raft commit.
 * - `drop`: forward it, and never pass the answer on (the connection stays open, silent).
 * - `answer`: answer `status` with `body` at once, without forwarding: Consul never sees it.
 * - `index`: forward it, and pass the answer on with `X-Consul-Index` set to `index`, or without the
 *   header when `index` is null (a proxy that drops or rewrites it).
 */
export type Fault =
  | { readonly kind: 'hold'; readonly ms: number }
  | { readonly kind: 'drop' }
  | { readonly kind: 'answer'; readonly status: number; readonly body?: string }
  | { readonly kind: 'index'; readonly index: number | null };

/**
 * An HTTP proxy between one or more clients and a Consul agent, loopback only, that injects faults
 * per kind of request and counts the requests it sees. Long polls (blocking queries) pass through.
 * The one counting proxy: the fault specs count with it, and the benchmarks, injecting nothing,
 * classify what it saw (bench/lib/request-kinds.ts).
 */
export interface HttpFaultProxy {
  readonly port: number;
  readonly host: '127.0.0.1';
  /** `http://127.0.0.1:<port>`. */
  readonly address: string;
  /** Applies `fault` to requests matching `pattern` from now on (the first matching fault wins); returns its removal. */
  inject(pattern: RequestPattern, fault: Fault): () => void;
  /** Removes every fault: requests are forwarded as they are again. */
  clearFaults(): void;
  /** Every request seen so far, in arrival order. */
  readonly seen: readonly SeenRequest[];
  /** How many requests matching `pattern` arrived in `[from, to)` (`performance.now()` times). */
  count(pattern: RequestPattern, from?: number, to?: number): number;
  /** Matching requests per whole second from `from` on, for as many seconds as have fully elapsed (at most `seconds`). */
  perSecond(pattern: RequestPattern, from: number, seconds: number): number[];
  close(): Promise<void>;
}

export function matchesPattern(request: SeenRequest, pattern: RequestPattern): boolean {
  if (pattern.method && request.method !== pattern.method) return false;
  if (pattern.path !== undefined) {
    const ok =
      typeof pattern.path === 'string'
        ? request.path === pattern.path
        : pattern.path.test(request.path);
    if (!ok) return false;
  }
  for (const [name, value] of Object.entries(pattern.query ?? {})) {
    if (!request.query.has(name)) return false;
    if (value !== true && request.query.get(name) !== value) return false;
  }
  if (pattern.body) {
    const ok =
      typeof pattern.body === 'function'
        ? pattern.body(request.body)
        : pattern.body.test(request.body);
    if (!ok) return false;
  }
  return true;
}

/** Listens on a free port of 127.0.0.1 and forwards to the agent at `target` (a loopback address). */
export async function startHttpFaultProxy(target: {
  host: string;
  port: number;
}): Promise<HttpFaultProxy> {
  const faults: Array<{ pattern: RequestPattern; fault: Fault }> = [];
  const seen: SeenRequest[] = [];
  const sockets = new Set<net.Socket>();
  const upstreamAgent = new http.Agent({ keepAlive: true });
  const timers = new Set<NodeJS.Timeout>();

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const url = new URL(request.url ?? '/', 'http://proxy.invalid');
      const probe = {
        method: request.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        body: Buffer.concat(chunks).toString('utf8'),
        at: performance.now(),
        status: null,
        answeredAt: null,
      };
      const fault = faults.find((entry) =>
        matchesPattern({ ...probe, fate: 'forwarded' }, entry.pattern),
      )?.fault;
      const fate: SeenRequest['fate'] =
        fault?.kind === 'answer'
          ? 'answered'
          : fault?.kind === 'drop'
            ? 'dropped'
            : fault && fault.kind !== 'index'
              ? 'held'
              : 'forwarded';
      const record: SeenRequest = { ...probe, fate };
      seen.push(record);

      if (fault?.kind === 'answer') {
        record.status = fault.status;
        record.answeredAt = performance.now();
        response.writeHead(fault.status, { 'Content-Type': 'text/plain; charset=utf-8' });
        response.end(fault.body ?? '');
        return;
      }
      const upstream = http.request(
        {
          host: target.host,
          port: target.port,
          method: probe.method,
          path: request.url,
          headers: { ...request.headers, host: `${target.host}:${target.port}` },
          agent: upstreamAgent,
        },
        (answer) => {
          record.status = answer.statusCode ?? null;
          record.answeredAt = performance.now();
          const body: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => body.push(chunk));
          answer.on('end', () => {
            const deliver = (): void => {
              if (response.destroyed || response.writableEnded) return;
              const headers = { ...answer.headers };
              delete headers['transfer-encoding'];
              if (fault?.kind === 'index') {
                delete headers['x-consul-index'];
                if (fault.index !== null) headers['x-consul-index'] = String(fault.index);
              }
              response.writeHead(answer.statusCode ?? 502, headers);
              response.end(Buffer.concat(body));
            };
            if (fault?.kind === 'drop') return;
            if (fault?.kind === 'hold') {
              const timer = setTimeout(() => {
                timers.delete(timer);
                deliver();
              }, fault.ms);
              timers.add(timer);
              return;
            }
            deliver();
          });
        },
      );
      upstream.on('error', () => response.destroy());
      // A client that gives up ends a plain forward (a long poll must not outlive it), but a held or
      // dropped request goes on to Consul: the point is that Consul applies what the client never hears of.
      if (!fault || fault.kind === 'index') response.on('close', () => upstream.destroy());
      upstream.end(Buffer.concat(chunks));
    });
  });
  // Long polls last up to watchWait and more; the client's keep-alive sockets stay until close().
  server.requestTimeout = 0;
  server.keepAliveTimeout = 0;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;

  const matching = (pattern: RequestPattern, from = -Infinity, to = Infinity): SeenRequest[] =>
    seen.filter(
      (request) => request.at >= from && request.at < to && matchesPattern(request, pattern),
    );

  return {
    port,
    host: '127.0.0.1',
    address: `http://127.0.0.1:${port}`,
    inject(pattern, fault) {
      const entry = { pattern, fault };
      faults.push(entry);
      return () => {
        const at = faults.indexOf(entry);
        if (at !== -1) faults.splice(at, 1);
      };
    },
    clearFaults() {
      faults.splice(0);
    },
    seen,
    count(pattern, from, to) {
      return matching(pattern, from, to).length;
    },
    perSecond(pattern, from, seconds) {
      const elapsed = Math.min(seconds, Math.floor((performance.now() - from) / 1000));
      return Array.from(
        { length: elapsed },
        (_, i) => matching(pattern, from + i * 1000, from + (i + 1) * 1000).length,
      );
    },
    close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const socket of sockets) socket.destroy();
      upstreamAgent.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
