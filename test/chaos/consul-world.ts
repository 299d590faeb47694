// The Consul side of a chaos segment: a 3-server cluster, or one dev agent with ACLs on, and the
// operator's requests (key delete, session destroy, ACL tokens) the nemesis makes to it.
import { randomUUID } from 'node:crypto';
import {
  startConsulAgent,
  startConsulCluster,
  type ConsulAgent,
  type ConsulCluster,
} from '../../harness';

export type WorldKind = 'cluster' | 'acl-agent';

const MANAGEMENT_TOKEN = randomUUID();
const POLICY = 'chaos-candidate';
// What the library needs (README: session:write, key:write on the key, service:write for the check).
const OTHER_RULES =
  'session_prefix "" { policy = "write" } service_prefix "" { policy = "write" } ' +
  'node_prefix "" { policy = "read" } agent_prefix "" { policy = "read" }';
const RULES = `key_prefix "" { policy = "write" } ${OTHER_RULES}`;
/** An operator's edit of one candidate's rights (issue 18): every rule but the key rule. */
const NO_KEY_POLICY = 'chaos-candidate-no-key';

export interface CandidateToken {
  readonly accessorId: string;
  readonly secretId: string;
}

export class ConsulWorld {
  private constructor(
    readonly kind: WorldKind,
    private readonly agent: ConsulAgent | undefined,
    readonly cluster: ConsulCluster | undefined,
  ) {}

  static async start(kind: WorldKind): Promise<ConsulWorld> {
    if (kind === 'cluster') return new ConsulWorld(kind, undefined, await startConsulCluster());
    const agent = await startConsulAgent({
      forceLocal: true,
      acl: { defaultPolicy: 'deny', managementToken: MANAGEMENT_TOKEN },
    });
    const world = new ConsulWorld(kind, agent, undefined);
    await world.putPolicy();
    return world;
  }

  get token(): string | undefined {
    return this.kind === 'acl-agent' ? MANAGEMENT_TOKEN : undefined;
  }

  /** The agent candidate `i` talks to (through its proxies): server `i mod 3` on a cluster. */
  agentOf(i: number): { host: string; port: number } {
    if (this.agent) return { host: this.agent.host, port: this.agent.port };
    const server = this.cluster!.servers[i % this.cluster!.servers.length];
    return { host: server.host, port: server.port };
  }

  /** A live agent's address for the operator's requests. */
  private address(): string {
    if (this.agent) return this.agent.address;
    const live = this.cluster!.servers.filter((server) => server.pid !== undefined);
    return (live[0] ?? this.cluster!.servers[0]).address;
  }

  async request(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: string }> {
    const response = await fetch(`${this.address()}${path}`, {
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: this.token ? { 'X-Consul-Token': this.token } : undefined,
      signal: AbortSignal.timeout(3_000),
    });
    return { status: response.status, body: await response.text() };
  }

  private async json<T>(path: string): Promise<T> {
    const answer = await this.request('GET', path);
    if (answer.status !== 200) throw new Error(`GET ${path}: ${answer.status} ${answer.body}`);
    return JSON.parse(answer.body) as T;
  }

  private async putPolicy(): Promise<void> {
    for (const [Name, Rules] of [
      [POLICY, RULES],
      [NO_KEY_POLICY, OTHER_RULES],
    ]) {
      const answer = await this.request('PUT', '/v1/acl/policy', { Name, Rules });
      if (answer.status !== 200) throw new Error(`ACL policy: ${answer.status} ${answer.body}`);
    }
  }

  /** The candidate's token keeps every rule but the key rule (`false`), or gets it back (`true`). */
  async keyRule(token: CandidateToken, granted: boolean): Promise<void> {
    const answer = await this.request('PUT', `/v1/acl/token/${token.accessorId}`, {
      AccessorID: token.accessorId,
      SecretID: token.secretId,
      Policies: [{ Name: granted ? POLICY : NO_KEY_POLICY }],
    });
    if (answer.status !== 200) throw new Error(`ACL token: ${answer.status} ${answer.body}`);
  }

  /** Creates (or creates again, after a revocation or a wiped agent) a candidate's token. */
  async grant(token: CandidateToken): Promise<void> {
    const answer = await this.request('PUT', '/v1/acl/token', {
      AccessorID: token.accessorId,
      SecretID: token.secretId,
      Policies: [{ Name: POLICY }],
    });
    if (answer.status !== 200) throw new Error(`ACL token: ${answer.status} ${answer.body}`);
  }

  async revoke(token: CandidateToken): Promise<void> {
    await this.request('DELETE', `/v1/acl/token/${token.accessorId}`);
  }

  /** The dev agent restarts empty: its policy and the candidates' tokens are put back at once. */
  async restartAgent(tokens: readonly CandidateToken[]): Promise<void> {
    await this.agent!.restart();
    await this.putPolicy();
    for (const token of tokens) await this.grant(token);
  }

  async deleteKey(key: string): Promise<void> {
    await this.request('DELETE', `/v1/kv/${key}`);
  }

  /** Destroys the session holding `key`, or any session when none does; returns which. */
  async destroySession(key: string): Promise<string | null> {
    const read = await this.request('GET', `/v1/kv/${key}`);
    let session: string | undefined;
    if (read.status === 200) {
      session = (JSON.parse(read.body) as Array<{ Session?: string }>)[0]?.Session;
    }
    if (!session) {
      const all = await this.json<Array<{ ID: string }>>('/v1/session/list');
      session = all[Math.floor(Math.random() * all.length)]?.ID;
    }
    if (!session) return null;
    await this.request('PUT', `/v1/session/destroy/${session}`);
    return session;
  }

  /** The instance whose session holds `key` (sessions are named `<key>#<instanceId>`), or null. */
  async holderOf(key: string): Promise<string | null> {
    const read = await this.request('GET', `/v1/kv/${key}`);
    if (read.status !== 200) return null;
    const session = (JSON.parse(read.body) as Array<{ Session?: string }>)[0]?.Session;
    if (!session) return null;
    const [info] = await this.json<Array<{ Name: string }>>(`/v1/session/info/${session}`);
    return info?.Name.startsWith(`${key}#`) ? info.Name.slice(key.length + 1) : null;
  }

  /** Sessions, services and checks of the election still in Consul (this world holds nothing else). */
  async leftovers(serviceName: string): Promise<string[]> {
    const sessions = await this.json<Array<{ ID: string; Name: string }>>('/v1/session/list');
    const services = await this.json<Array<{ ServiceID: string; Node: string }>>(
      `/v1/catalog/service/${serviceName}`,
    );
    const checks =
      await this.json<Array<{ CheckID: string; ServiceName: string }>>('/v1/health/state/any');
    return [
      ...sessions.map((s) => `session ${s.ID} (${s.Name})`),
      ...services.map((s) => `service ${s.ServiceID} on ${s.Node}`),
      ...checks
        .filter((c) => c.ServiceName === serviceName)
        .map((c) => `check ${c.CheckID} of ${c.ServiceName}`),
    ];
  }

  async stop(): Promise<void> {
    await this.agent?.stop();
    await this.cluster?.stop();
  }
}
