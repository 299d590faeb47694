import type * as http from 'node:http';
import type {
  AcquireRequest,
  AcquireResult,
  CandidateService,
  CandidatesRead,
  ConsulPort,
  ConsulTxnPort,
  KeyRead,
  NewSession,
  ReadCandidatesRequest,
  ReadKeyRequest,
  ReleaseRequest,
  TtlCheck,
  TxnEntry,
  TxnOperation,
  TxnOutcome,
} from './consul-port';
import type { ResolvedElectionOptions } from '../options/election-options';
import { ConsulRequestError } from './consul-request.error';
import * as agentCalls from './node-consul-agent';
import * as keyCalls from './node-consul-keys';
import * as sessionCalls from './node-consul-sessions';
import * as txnCalls from './node-consul-txn';
import { createConsulClient } from './consul-client';
import type { ConsulClient } from './node-consul-transport';

/**
 * {@link ConsulPort} on the `consul` npm client (v2), over one keep-alive agent so that a renewal
 * costs a request, not a TCP handshake.
 *
 * Every call asks the client for the raw response and accepts an answer only by its shape: the
 * client reports some failures by *resolving* with the error (it tells errors from values with
 * `instanceof Error`, which is false for an error made in another realm — Node's socket errors
 * under Jest's sandbox, for one). Taking such a value for a result would confirm a hold that
 * Consul never confirmed (`node-consul-transport.ts`). The operations live by their part of Consul's
 * API: `node-consul-keys.ts`, `node-consul-sessions.ts`, `node-consul-agent.ts`; each reads the
 * client from here at every call.
 */
export class NodeConsulPort implements ConsulPort, ConsulTxnPort {
  private readonly client: ConsulClient;
  private readonly agent: http.Agent;
  /** The agent's node name, once a refused request made us ask for it (see namingNode). */
  private node: string | null = null;
  /** Monotonic time before which no other node lookup is made. */
  private nextNodeLookup = 0;

  constructor(connection: ResolvedElectionOptions['consul']) {
    ({ client: this.client, agent: this.agent } = createConsulClient(connection));
  }

  readKey(key: string, request: ReadKeyRequest): Promise<KeyRead> {
    return this.namingNode(() => keyCalls.readKey(this.client, key, request));
  }

  createSession(session: NewSession, timeoutMs: number): Promise<string> {
    return this.namingNode(() => sessionCalls.createSession(this.client, session, timeoutMs));
  }

  renewSession(sessionId: string, timeoutMs: number): Promise<'renewed' | 'not-found'> {
    return this.namingNode(() => sessionCalls.renewSession(this.client, sessionId, timeoutMs));
  }

  destroySession(sessionId: string, timeoutMs: number): Promise<void> {
    return this.namingNode(() => sessionCalls.destroySession(this.client, sessionId, timeoutMs));
  }

  acquire(request: AcquireRequest, timeoutMs: number): Promise<AcquireResult> {
    return this.namingNode(() => keyCalls.acquire(this.client, request, timeoutMs));
  }

  release(request: ReleaseRequest, timeoutMs: number): Promise<boolean> {
    return this.namingNode(() => keyCalls.release(this.client, request, timeoutMs));
  }

  rewriteHeld(request: ReleaseRequest, timeoutMs: number): Promise<number | null> {
    return this.namingNode(() => keyCalls.rewriteHeld(this.client, request, timeoutMs));
  }

  confirmHolding(key: string, sessionId: string, timeoutMs: number): Promise<boolean> {
    return this.namingNode(() => keyCalls.confirmHolding(this.client, key, sessionId, timeoutMs));
  }

  transact(operations: readonly TxnOperation[], timeoutMs: number): Promise<TxnOutcome> {
    return this.namingNode(() => txnCalls.transact(this.client, operations, timeoutMs));
  }

  sessionAlive(sessionId: string, timeoutMs: number): Promise<boolean> {
    return this.namingNode(() => txnCalls.sessionAlive(this.client, sessionId, timeoutMs));
  }

  readTree(prefix: string, timeoutMs: number): Promise<readonly TxnEntry[]> {
    return this.namingNode(() => txnCalls.readTree(this.client, prefix, timeoutMs));
  }

  registerService(service: CandidateService, timeoutMs: number): Promise<void> {
    return this.namingNode(() => agentCalls.registerService(this.client, service, timeoutMs));
  }

  registerTtlCheck(check: TtlCheck, timeoutMs: number): Promise<void> {
    return this.namingNode(() => agentCalls.registerTtlCheck(this.client, check, timeoutMs));
  }

  readCandidates(serviceName: string, request: ReadCandidatesRequest): Promise<CandidatesRead> {
    return this.namingNode(() => agentCalls.readCandidates(this.client, serviceName, request));
  }

  passCheck(checkId: string, timeoutMs: number): Promise<'passed' | 'not-found'> {
    return this.namingNode(() => agentCalls.passCheck(this.client, checkId, timeoutMs));
  }

  deregisterService(serviceId: string, timeoutMs: number): Promise<void> {
    return this.namingNode(() => agentCalls.deregisterService(this.client, serviceId, timeoutMs));
  }

  close(): void {
    this.agent.destroy();
  }

  /**
   * Runs a call; when Consul refuses it by ACL, names the agent's node in the error (learned once,
   * by one more request), so that the message can say which `session` rule the token lacks.
   */
  private async namingNode<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof ConsulRequestError) || error.kind !== 'forbidden' || error.node)
        throw error;
      if (this.node === null && performance.now() >= this.nextNodeLookup) {
        // Every loop retries its refused request: one lookup for all of them, then a pause, so
        // that a token without rights does not double the requests (every-loop-backs-off.spec.ts).
        this.nextNodeLookup = performance.now() + NODE_LOOKUP_INTERVAL_MS;
        this.node = await agentCalls.agentNode(this.client, LOOKUP_TIMEOUT_MS).catch(() => null);
      }
      if (this.node === null) throw error;
      throw new ConsulRequestError(
        error.kind,
        error.operation,
        error.message.replace(/^Consul .*? failed: /, ''),
        error.status,
        error.body,
        { cause: error.cause, node: this.node },
      );
    }
  }
}

// Short: the node only completes a message, and a refused request is answered at once.
const LOOKUP_TIMEOUT_MS = 500;
/** While the node is unknown (the check not registered yet), asked again at most this often. */
const NODE_LOOKUP_INTERVAL_MS = 5_000;
