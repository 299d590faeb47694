// The real NodeConsulPort over the Consul model: a stand-in for the `consul` npm client that turns
// each client call into a model request and the model's HTTP answer into what the client resolves
// with (`[response, body]` under `includeResponse`), so that every answer goes through the port's
// own mapping, exactly as with a real agent. A transport in between decides the fate of each request
// (delivered, lost, answered late, refused) — the simulator's network; the direct one delivers all.
import type { EventEmitter } from 'node:events';
import { NodeConsulPort } from '../../lib/election';
import { parseDuration } from '../../lib/election/time/duration';
import {
  ModelUnavailableError,
  type ConsulModel,
  type ModelAnswer,
  type TxnOp,
} from './consul-model';

export interface ModelRequest {
  /** The client call, e.g. `kv.get`, `Transaction.create`. */
  readonly name: string;
  /** Whether it changes state when it reaches Consul (for lost-answer faults). */
  readonly write: boolean;
  /** A blocking query (a long poll with an index). */
  readonly blocking: boolean;
  /** A health read of the passing instances only (the candidates watch's), not of all of them. */
  readonly passingOnly?: boolean;
  readonly timeoutMs: number;
  /** The client's cancel context (emits `cancel`). */
  readonly ctx?: EventEmitter;
  /** Carries the request out in the model; runs when (and if) the request reaches Consul. */
  readonly handle: () => ModelAnswer | Promise<ModelAnswer>;
}

/** Carries requests to the model and answers back; resolves with the model's answer or rejects like the client. */
export interface ModelTransport {
  send(request: ModelRequest): Promise<ModelAnswer>;
}

/** Delivers every request at once (the conformance spec, state-machine specs). */
export const directTransport: ModelTransport = {
  send(request) {
    return cancellable(request, async () => request.handle());
  },
};

/**
 * Runs `deliver` for `request`, rejecting at once when the client cancels it (its `ctx` emits
 * `cancel`, as when the caller's AbortSignal fires), like the real client's aborted socket.
 */
export function cancellable(
  request: ModelRequest,
  deliver: () => Promise<ModelAnswer>,
): Promise<ModelAnswer> {
  return new Promise<ModelAnswer>((resolve, reject) => {
    request.ctx?.once('cancel', () =>
      reject(Object.assign(new Error('aborted'), { code: 'ECONNRESET' })),
    );
    deliver().then(resolve, reject);
  });
}

/** What the client rejects with when the socket fails (classified `unreachable` by the port). */
export function socketError(code: string): Error {
  return Object.assign(new Error(`connect ${code}`), { code });
}

/** What the client rejects with when its `timeout` passes (classified `timeout` by the port). */
export function timeoutError(name: string): Error {
  return Object.assign(new Error(`${name}: request timed out`), { isTimeout: true });
}

type Options = Record<string, unknown> & { timeout?: number; ctx?: EventEmitter };

/** The subset of the `consul` client the port calls, answered by the model through a transport. */
export function modelClient(model: ConsulModel, transport: ModelTransport, token = ''): unknown {
  const call = async (
    name: string,
    write: boolean,
    options: Options,
    handle: () => ModelAnswer | Promise<ModelAnswer>,
    shape: (answer: ModelAnswer) => unknown = (answer) => answer.body,
  ): Promise<unknown> => {
    let answer: ModelAnswer;
    try {
      answer = await transport.send({
        name,
        write,
        blocking: Number(options.index ?? 0) > 0,
        ...(name === 'health.service' && { passingOnly: !!options.passing }),
        timeoutMs: options.timeout ?? 0,
        ctx: options.ctx,
        handle,
      });
    } catch (error) {
      if (error instanceof ModelUnavailableError) throw socketError(error.code);
      throw error;
    }
    const response = {
      statusCode: answer.status,
      headers: answer.index === undefined ? {} : { 'x-consul-index': String(answer.index) },
      body: answer.body,
    };
    return [response, answer.status >= 200 && answer.status < 300 ? shape(answer) : answer.body];
  };
  const waitOf = (options: Options): { index?: number; waitMs?: number } => ({
    index: options.index === undefined ? undefined : Number(options.index),
    waitMs: options.wait === undefined ? undefined : parseDuration(String(options.wait)),
  });
  return {
    kv: {
      get: (options: Options & { key: string }) =>
        call(
          'kv.get',
          false,
          options,
          () => model.kvGet(options.key, waitOf(options), token),
          // The client decodes Value and hands back the first entry.
          (answer) => {
            const [entry] = answer.body as Array<{ Value: string | null }>;
            return {
              ...entry,
              Value: entry.Value === null ? null : Buffer.from(entry.Value, 'base64').toString(),
            };
          },
        ),
    },
    session: {
      create: (options: Options) =>
        call('session.create', true, options, () =>
          model.sessionCreate(
            {
              Name: options.name as string,
              TTL: options.ttl as string,
              LockDelay: options.lockdelay as string,
              Checks: options.checks as string[],
            },
            token,
          ),
        ),
      // The client hands back the first entry of the list (undefined for an empty one).
      info: (options: Options & { id: string }) =>
        call(
          'session.info',
          false,
          options,
          () => model.sessionRead(options.id, token),
          (answer) => (answer.body as unknown[])[0],
        ),
      renew: (options: Options & { id: string }) =>
        call('session.renew', true, options, () => model.sessionRenew(options.id, token)),
      destroy: (options: Options & { id: string }) =>
        call('session.destroy', true, options, () => model.sessionDestroy(options.id, token)),
    },
    transaction: {
      create: (operations: TxnOp[], options: Options) =>
        call(
          'Transaction.create',
          operations.some(
            (op) => !['get', 'get-tree', 'check-index', 'check-session'].includes(op.KV.Verb),
          ),
          options,
          () => model.txn(operations, token),
        ),
    },
    agent: {
      service: {
        register: (
          options: Options & {
            id: string;
            name: string;
            meta?: Record<string, string>;
            check?: Record<string, string>;
          },
        ) =>
          call('agent.service.register', true, options, () =>
            model.serviceRegister(
              {
                ID: options.id,
                Name: options.name,
                Meta: options.meta,
                ...(options.check && {
                  Check: {
                    CheckID: options.check.checkid,
                    TTL: options.check.ttl,
                    Status: options.check.status,
                    DeregisterCriticalServiceAfter: options.check.deregistercriticalserviceafter,
                  },
                }),
              },
              token,
            ),
          ),
        deregister: (options: Options & { id: string }) =>
          call('agent.service.deregister', true, options, () =>
            model.serviceDeregister(options.id, token),
          ),
      },
      check: {
        register: (options: Options) =>
          call('agent.check.register', true, options, () =>
            model.checkRegister(
              {
                ID: options.id as string,
                ServiceID: options.serviceid as string,
                TTL: options.ttl as string,
                Status: options.status as string,
                DeregisterCriticalServiceAfter: options.deregistercriticalserviceafter as string,
              },
              token,
            ),
          ),
        pass: (options: Options & { id: string }) =>
          call('agent.check.pass', true, options, () => model.checkPass(options.id, token)),
      },
    },
    health: {
      service: (options: Options & { service: string; passing?: boolean }) =>
        call('health.service', false, options, () =>
          model.healthService(
            options.service,
            { passing: !!options.passing, ...waitOf(options) },
            token,
          ),
        ),
    },
  };
}

/** The library's own port, talking to the model instead of an agent. */
export function modelPort(
  model: ConsulModel,
  transport: ModelTransport = directTransport,
  token = '',
): NodeConsulPort {
  const port = new NodeConsulPort({ host: '127.0.0.1', port: 1, secure: false });
  // The port's only fields are its client and its keep-alive agent (never used here).
  (port as unknown as { agent: { destroy(): void } }).agent.destroy();
  (port as unknown as { client: unknown }).client = modelClient(model, transport, token);
  return port;
}
