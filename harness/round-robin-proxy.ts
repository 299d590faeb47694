import * as http from 'node:http';
import * as net from 'node:net';

/**
 * A TCP load balancer in front of several Consul servers: each new connection goes to the next
 * target in turn, as a Kubernetes Service or a cloud load balancer in front of servers would do.
 * Clients that talk to it have no local agent: agent endpoints reach whichever server they land on.
 */
export interface RoundRobinProxy {
  readonly port: number;
  /** How many connections went to each target, in target order. */
  readonly connections: number[];
  close(): Promise<void>;
}

export async function startRoundRobinProxy(
  targets: ReadonlyArray<{ host: string; port: number }>,
): Promise<RoundRobinProxy> {
  const sockets = new Set<net.Socket>();
  const connections = targets.map(() => 0);
  let next = 0;
  const server = net.createServer((client) => {
    const i = next;
    next = (next + 1) % targets.length;
    connections[i]! += 1;
    const upstream = net.connect(targets[i]!.port, targets[i]!.host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * An HTTP load balancer in front of several Consul servers that sends each request to the next
 * target (an L7 balancer, or an ingress): no two consecutive requests of a client reach the same
 * agent, so a client without a local agent finds out at its first check update.
 */
export async function startRoundRobinHttpProxy(
  targets: ReadonlyArray<{ host: string; port: number }>,
): Promise<RoundRobinProxy> {
  const connections = targets.map(() => 0);
  let next = 0;
  const upstreamAgent = new http.Agent({ keepAlive: true });
  const server = http.createServer((req, res) => {
    const i = next;
    next = (next + 1) % targets.length;
    connections[i]! += 1;
    const upstream = http.request(
      {
        host: targets[i]!.host,
        port: targets[i]!.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent: upstreamAgent,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    // A client that gives up on a blocking query closes its response: end the upstream one too.
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        upstreamAgent.destroy();
        server.close(() => resolve());
      }),
  };
}
