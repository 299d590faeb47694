import * as net from 'node:net';

/** A TCP forwarder between one client and an agent, whose link a test can cut and restore. */
export interface TcpProxy {
  readonly port: number;
  /** `http://127.0.0.1:<port>`: give it to the client instead of the agent's address. */
  readonly address: string;
  /**
   * Black-holes the link, like a dropped network rather than a refused one: every connection,
   * existing or new, stays open but no byte passes either way. Bytes are dropped, not buffered.
   */
  partition(): void;
  /**
   * Lets traffic flow again for new connections. The connections that lived through the
   * partition are destroyed, as a TCP timeout would end them; their bytes are gone anyway.
   */
  heal(): void;
  close(): Promise<void>;
}

interface Link {
  client: net.Socket;
  upstream: net.Socket | undefined;
  /** Lived through a partition: never forwards again, destroyed on heal. */
  blackHoled: boolean;
}

/** Listens on a free port of 127.0.0.1 and forwards each connection to `target`. */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const links = new Set<Link>();
  let partitioned = false;

  const drop = (link: Link): void => {
    links.delete(link);
    link.client.destroy();
    link.upstream?.destroy();
  };

  const server = net.createServer((client) => {
    const link: Link = { client, upstream: undefined, blackHoled: partitioned };
    links.add(link);
    client.on('error', () => drop(link));
    client.on('close', () => drop(link));
    // Read and discard while black-holed, so the client's writes succeed as on a silent network.
    client.on('data', (chunk) => {
      if (!link.blackHoled && link.upstream) link.upstream.write(chunk);
    });
    if (link.blackHoled) return;
    client.pause();
    const upstream = net.connect(target, () => {
      if (!link.blackHoled) client.resume();
    });
    link.upstream = upstream;
    upstream.on('data', (chunk) => {
      if (!link.blackHoled) client.write(chunk);
    });
    // During a partition the client must not learn that the agent went away: no FIN, no RST.
    upstream.on('error', () => {
      if (!link.blackHoled) drop(link);
    });
    upstream.on('close', () => {
      if (!link.blackHoled) drop(link);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;

  return {
    port,
    address: `http://127.0.0.1:${port}`,
    partition() {
      partitioned = true;
      for (const link of links) {
        link.blackHoled = true;
        // Keep draining the client (its bytes are dropped by the data handler).
        link.client.resume();
      }
    },
    heal() {
      partitioned = false;
      for (const link of [...links]) if (link.blackHoled) drop(link);
    },
    close() {
      for (const link of [...links]) drop(link);
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
