import * as http from 'node:http';
import * as https from 'node:https';
import Consul from 'consul';
import type { ResolvedElectionOptions } from '../options/election-options';
import type { ConsulClient } from './node-consul-transport';

// Not exported from the package: its type names the `consul` client's default export, which a
// consumer compiling without `esModuleInterop` (a Nest 11 CommonJS app) could not read in a .d.ts
// of the public API.

/** The client's request pipeline (papi), where an extension can amend a request before it is built. */
interface PapiClient {
  _ext(
    event: 'onCreate',
    callback: (request: { opts: { method?: string; body?: unknown } }, next: () => void) => void,
  ): void;
}

/**
 * A `consul` npm client for a resolved connection, over one keep-alive agent (`agent.destroy()`
 * frees its sockets). Shared by the port and the `status` command, so both reach Consul alike.
 */
export function createConsulClient(connection: ResolvedElectionOptions['consul']): {
  client: ConsulClient;
  agent: http.Agent;
} {
  const agent = connection.secure
    ? new https.Agent({ keepAlive: true, ca: connection.ca })
    : new http.Agent({ keepAlive: true });
  const client = new Consul({
    host: connection.host,
    port: connection.port,
    secure: connection.secure,
    agent,
    defaults: {
      ...(connection.token ? { token: connection.token } : {}),
      ...(connection.dc ? { dc: connection.dc } : {}),
    },
  });
  // The client sends PUTs without a body (renew, check pass, destroy, deregister) with
  // Content-Length 0; newer Consul checks the length of writes, so every PUT carries `{}`,
  // which each of those endpoints ignores (checked on 1.8.7).
  (client as unknown as PapiClient)._ext('onCreate', (request, next) => {
    if (request.opts.method === 'PUT' && request.opts.body === undefined) request.opts.body = {};
    next();
  });
  return { client, agent };
}
