import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ensureConsulSource, type ConsulSource } from './consul-source';
import { harnessPaths } from './harness-paths';
import { canBind, findFreePorts } from './ports';
import { forgetProcess, installExitCleanup, recordProcess, watchOwner } from './process-registry';

export {
  CONSUL_SOURCE_HELP,
  ensureConsulSource,
  resolveConsulSource,
  type ConsulProbe,
  type ConsulSource,
} from './consul-source';

/** A running Consul agent the tests talk to over HTTP. */
export interface ConsulAgent {
  /** Base URL, e.g. `http://127.0.0.1:8500`, no trailing slash. */
  readonly address: string;
  readonly host: string;
  readonly port: number;
  /** Came from CONSUL_HTTP_ADDR: the harness started nothing, `stop()` is a no-op and `restart()` throws. */
  readonly external: boolean;
  readonly pid: number | undefined;
  readonly logFile: string | undefined;
  /** The consul binary that runs it, when local. */
  readonly binary: string | undefined;
  /** `Config.Version` of `GET /v1/agent/self`, e.g. `1.8.7`. */
  version(): Promise<string>;
  /** The last `lines` lines of the agent's log, to print when a test fails. */
  logTail(lines?: number): string;
  /**
   * Stops the agent (SIGTERM, SIGKILL after 5 s) and starts it again on the same ports. Resolves
   * when a leader is elected and a KV write succeeds. A dev agent comes back empty.
   */
  restart(): Promise<void>;
  /** Sends `signal` (default SIGKILL) and resolves once the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Stops the agent and removes its temporary files; safe to call twice. */
  stop(): Promise<void>;
}

export interface StartAgentOptions {
  /** Servers' minimum session TTL (Consul's default is 10s). Default `'500ms'`, which 1.8.7 accepts. */
  sessionTtlMin?: string;
  /** Turns ACLs on with `default_policy` deny; `managementToken` is the 1.8 `tokens.master`. */
  acl?: { defaultPolicy: 'deny'; managementToken: string };
  /** Deep-merged into the agent's JSON config file. */
  extraConfig?: Record<string, unknown>;
  /** Start a local agent even when CONSUL_HTTP_ADDR is set (tests that restart or use ACLs). */
  forceLocal?: boolean;
  /**
   * Run a local agent in a process group of its own, so that a terminal's Ctrl-C does not reach
   * it: its owner stops it when it is done (`npm start` stops it after the instances that use it).
   * The watchdog still stops it if the owner dies first.
   */
  ownProcessGroup?: boolean;
}

export interface ConsulCluster {
  /** Three servers, each with its own HTTP port, on 127.0.0.2/.3/.4 when bindable, else 127.0.0.1. */
  readonly servers: ConsulAgent[];
  /** Index in `servers` of the current Raft leader, or -1 when no live server knows one. */
  raftLeaderIndex(): Promise<number>;
  /**
   * Polls until a leader other than `exclude` is known to the live servers and has finished
   * establishing its leadership (it serves consistent reads); returns its index.
   */
  waitForRaftLeader(timeoutMs?: number, exclude?: number): Promise<number>;
  killServer(i: number, signal?: NodeJS.Signals): Promise<void>;
  /** Starts server `i` again with its data dir; resolves when it is back in the Raft peer set. */
  restartServer(i: number): Promise<void>;
  stop(): Promise<void>;
}

export const DEFAULT_SESSION_TTL_MIN = '500ms';
const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;
const REQUEST_TIMEOUT_MS = 2_000;
const READY_KEY = 'nestjs-consul-leader-harness/ready';

// ---------------------------------------------------------------------------------------------
// HTTP

interface ConsulResponse {
  status: number;
  body: string;
}

async function consulRequest(
  address: string,
  urlPath: string,
  init: { method?: string; body?: string; token?: string; timeoutMs?: number } = {},
): Promise<ConsulResponse> {
  const response = await fetch(`${address}${urlPath}`, {
    method: init.method ?? 'GET',
    body: init.body,
    headers: init.token ? { 'X-Consul-Token': init.token } : undefined,
    signal: AbortSignal.timeout(init.timeoutMs ?? REQUEST_TIMEOUT_MS),
  });
  return { status: response.status, body: await response.text() };
}

/** Non-empty `/v1/status/leader` (`"ip:port"`) of the agent at `address`, or '' if none or down. */
async function statusLeader(address: string): Promise<string> {
  try {
    const { status, body } = await consulRequest(address, '/v1/status/leader');
    return status === 200 ? (JSON.parse(body) as string) : '';
  } catch {
    return '';
  }
}

/** One round of the readiness check: a leader is known and a KV write (then delete) succeeds. */
async function isServing(address: string, token: string | undefined): Promise<string | undefined> {
  if ((await statusLeader(address)) === '') return 'no leader yet';
  try {
    const put = await consulRequest(address, `/v1/kv/${READY_KEY}`, {
      method: 'PUT',
      body: 'ok',
      token,
    });
    if (put.status !== 200) return `KV PUT answered ${put.status} ${put.body.trim()}`;
    await consulRequest(address, `/v1/kv/${READY_KEY}`, { method: 'DELETE', token });
    return undefined;
  } catch (error) {
    return `KV PUT failed: ${(error as Error).message}`;
  }
}

/** `Config.Version` from `GET /v1/agent/self` (needs `agent:read` under ACLs). */
async function agentVersion(address: string, token: string | undefined): Promise<string> {
  const { status, body } = await consulRequest(address, '/v1/agent/self', { token });
  if (status !== 200) throw new Error(`GET ${address}/v1/agent/self answered ${status}: ${body}`);
  return (JSON.parse(body) as { Config: { Version: string } }).Config.Version;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` (undefined = done, string = why not yet) until it passes or the deadline. */
async function pollUntil(
  what: string,
  check: () => Promise<string | undefined>,
  timeoutMs: number,
  abort?: () => string | undefined,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let last = 'not checked yet';
  for (;;) {
    const aborted = abort?.();
    if (aborted !== undefined) throw new Error(`${what}: ${aborted}`);
    const reason = await check();
    if (reason === undefined) return;
    last = reason;
    if (performance.now() > deadline) {
      throw new Error(`${what}: not ready after ${timeoutMs} ms (last: ${last})`);
    }
    await delay(50);
  }
}

// ---------------------------------------------------------------------------------------------
// Config

type Json = Record<string, unknown>;

function isPlainObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepMerge(base: Json, extra: Json): Json {
  const out: Json = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    out[key] = isPlainObject(value) && isPlainObject(out[key]) ? deepMerge(out[key], value) : value;
  }
  return out;
}

function agentConfig(options: StartAgentOptions): Json {
  const base: Json = {
    session_ttl_min: options.sessionTtlMin ?? DEFAULT_SESSION_TTL_MIN,
    // The checkpoint service is on the internet; the tests run on loopback only.
    disable_update_check: true,
  };
  if (options.acl) {
    base.acl = {
      enabled: true,
      default_policy: options.acl.defaultPolicy,
      down_policy: 'extend-cache',
      // The agent token too, so the agent's own anti-entropy is not denied (and does not log it).
      tokens: { master: options.acl.managementToken, agent: options.acl.managementToken },
    };
  }
  return deepMerge(base, options.extraConfig ?? {});
}

function uniqueNode(kind: string): string {
  return `ncl-${kind}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

function tail(file: string | undefined, lines: number): string {
  if (file === undefined) return '';
  try {
    return fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .slice(-lines - 1)
      .join('\n');
  } catch {
    return '';
  }
}

// ---------------------------------------------------------------------------------------------
// Local agents (a binary we spawn)

interface LocalAgentSpec {
  binary: string;
  node: string;
  host: string;
  ports: { http: number; server: number; serfLan: number; serfWan: number };
  /** Arguments after `agent`, before the common ones (`-dev`, or the server flags). */
  mode: string[];
  config: Json;
  token: string | undefined;
  /** Config file and, for servers, the data dir live here; removed on stop. */
  workDir: string;
  /** See {@link StartAgentOptions.ownProcessGroup}. */
  ownProcessGroup?: boolean;
}

class LocalConsulAgent implements ConsulAgent {
  readonly external = false;
  readonly address: string;
  readonly host: string;
  readonly port: number;
  readonly logFile: string;
  readonly binary: string;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly spec: LocalAgentSpec) {
    this.host = spec.host;
    this.port = spec.ports.http;
    this.address = `http://${spec.host}:${spec.ports.http}`;
    this.binary = spec.binary;
    const paths = harnessPaths();
    fs.mkdirSync(paths.logs, { recursive: true });
    this.logFile = path.join(paths.logs, `${spec.node}.log`);
  }

  get pid(): number | undefined {
    return this.child?.exitCode === null && this.child.signalCode === null
      ? this.child.pid
      : undefined;
  }

  get node(): string {
    return this.spec.node;
  }

  /** `host:serverPort`, the form `/v1/status/leader` and `/v1/status/peers` answer with. */
  get raftAddress(): string {
    return `${this.spec.host}:${this.spec.ports.server}`;
  }

  get token(): string | undefined {
    return this.spec.token;
  }

  private args(): string[] {
    const { host, ports, node, workDir } = this.spec;
    return [
      'agent',
      ...this.spec.mode,
      ...['-bind', host, '-client', host, '-node', node],
      ...['-http-port', String(ports.http), '-server-port', String(ports.server)],
      ...['-serf-lan-port', String(ports.serfLan), '-serf-wan-port', String(ports.serfWan)],
      ...['-dns-port', '-1', '-grpc-port', '-1'],
      ...['-config-file', path.join(workDir, 'config.json')],
    ];
  }

  /** Spawns the process; `waitReady` tells when it serves. */
  spawn(): void {
    installExitCleanup();
    fs.mkdirSync(this.spec.workDir, { recursive: true });
    fs.writeFileSync(
      path.join(this.spec.workDir, 'config.json'),
      JSON.stringify(this.spec.config, null, 2),
    );
    const args = this.args();
    const log = fs.openSync(this.logFile, 'a');
    fs.writeSync(log, `\n=== ${new Date().toISOString()} ${this.binary} ${args.join(' ')}\n`);
    // The log is a file, not a pipe: the agent never blocks on a full pipe, and it outlives a
    // crashed parent only until the next teardown finds its record.
    const child = spawn(this.binary, args, {
      stdio: ['ignore', log, log],
      detached: this.spec.ownProcessGroup === true,
    });
    fs.closeSync(log);
    if (child.pid === undefined) {
      throw new Error(`Could not start ${this.binary}: ${this.logTail(5)}`);
    }
    const pid = child.pid;
    const workDir = this.spec.workDir;
    recordProcess({ pid, node: this.spec.node, argv: [this.binary, ...args], workDir });
    watchOwner(pid, workDir);
    this.exited = new Promise((resolve) => {
      child.once('exit', () => {
        forgetProcess(pid);
        resolve();
      });
    });
    child.once('error', () => undefined);
    this.child = child;
    this.stopped = false;
  }

  async waitReady(
    what = `Consul agent ${this.spec.node} at ${this.address}`,
    timeoutMs = READY_TIMEOUT_MS,
  ): Promise<void> {
    const child = this.child;
    await pollUntil(
      what,
      () => isServing(this.address, this.spec.token),
      timeoutMs,
      () =>
        child && (child.exitCode !== null || child.signalCode !== null)
          ? `the process exited (${child.exitCode ?? child.signalCode}); log ${this.logFile}:\n${this.logTail(15)}`
          : undefined,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n--- ${this.logFile} ---\n${this.logTail(20)}`);
    });
  }

  /** Whether the last start failed because a port was taken between our check and Consul's bind. */
  lostPortRace(): boolean {
    return /address already in use/i.test(this.logTail(30));
  }

  version(): Promise<string> {
    return agentVersion(this.address, this.spec.token);
  }

  logTail(lines = 40): string {
    return tail(this.logFile, lines);
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.pid === undefined) return;
    this.child?.kill(signal);
    await this.exited;
  }

  /** SIGTERM, then SIGKILL if the agent has not left within 5 s. Keeps the work dir. */
  async halt(): Promise<void> {
    if (this.pid === undefined) return;
    this.child?.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), STOP_GRACE_MS);
    });
    const outcome = await Promise.race([this.exited, late]);
    clearTimeout(timer);
    if (outcome === 'late') await this.kill('SIGKILL');
  }

  async restart(): Promise<void> {
    await this.halt();
    this.spawn();
    await this.waitReady();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.halt();
    fs.rmSync(this.spec.workDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// External agent (CONSUL_HTTP_ADDR)

class ExternalConsulAgent implements ConsulAgent {
  readonly external = true;
  readonly pid = undefined;
  readonly logFile = undefined;
  readonly binary = undefined;
  readonly host: string;
  readonly port: number;

  constructor(readonly address: string) {
    const url = new URL(address);
    this.host = url.hostname;
    this.port = Number(url.port);
  }

  version(): Promise<string> {
    return agentVersion(this.address, process.env.CONSUL_HTTP_TOKEN);
  }

  logTail(): string {
    return `(external agent at ${this.address} from CONSUL_HTTP_ADDR: its log is not ours)`;
  }

  private notOurs(action: string): Error {
    return new Error(
      `Cannot ${action} the external Consul agent at ${this.address} (CONSUL_HTTP_ADDR): the ` +
        'harness did not start it. Use startConsulAgent({ forceLocal: true }) for this test.',
    );
  }

  async restart(): Promise<void> {
    throw this.notOurs('restart');
  }

  async kill(): Promise<void> {
    throw this.notOurs('kill');
  }

  async stop(): Promise<void> {
    // Not ours to stop.
  }
}

// ---------------------------------------------------------------------------------------------
// Docker agent (testcontainers)

const DOCKER_IMAGE = 'hashicorp/consul:1.20';

type StartedContainer = import('testcontainers').StartedTestContainer;

class DockerConsulAgent implements ConsulAgent {
  readonly external = false;
  readonly pid = undefined;
  readonly binary = undefined;
  readonly host = '127.0.0.1';
  readonly address: string;
  readonly logFile: string;
  private stopped = false;

  constructor(
    private readonly container: StartedContainer,
    readonly port: number,
    private readonly token: string | undefined,
    node: string,
  ) {
    this.address = `http://${this.host}:${port}`;
    this.logFile = path.join(harnessPaths().logs, `${node}.log`);
  }

  static async start(options: StartAgentOptions): Promise<DockerConsulAgent> {
    // Loaded only here, so runs without Docker never pay for (or depend on) testcontainers.
    const { GenericContainer } = await import('testcontainers');
    const node = uniqueNode('docker');
    const [port] = await findFreePorts(['127.0.0.1'], 1);
    const container = await new GenericContainer(DOCKER_IMAGE)
      .withName(node)
      // The image's entrypoint adds `-config-dir=/consul/config`, which picks up our file.
      .withCommand(['agent', '-dev', '-client', '0.0.0.0', '-node', node])
      .withCopyContentToContainer([
        { content: JSON.stringify(agentConfig(options)), target: '/consul/config/harness.json' },
      ])
      // A fixed host port, so a restart comes back on the same address.
      .withExposedPorts({ container: 8500, host: port })
      .start();
    fs.mkdirSync(harnessPaths().logs, { recursive: true });
    const agent = new DockerConsulAgent(container, port, options.acl?.managementToken, node);
    (await container.logs()).pipe(fs.createWriteStream(agent.logFile, { flags: 'a' }));
    await agent.waitReady();
    return agent;
  }

  private waitReady(): Promise<void> {
    return pollUntil(
      `Consul container at ${this.address}`,
      () => isServing(this.address, this.token),
      READY_TIMEOUT_MS,
    );
  }

  version(): Promise<string> {
    return agentVersion(this.address, this.token);
  }

  logTail(lines = 40): string {
    return tail(this.logFile, lines);
  }

  async restart(): Promise<void> {
    await this.container.restart({ timeout: STOP_GRACE_MS });
    await this.waitReady();
  }

  async kill(): Promise<void> {
    this.stopped = true;
    await this.container.stop({ timeout: 0 });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.container.stop({ timeout: STOP_GRACE_MS });
  }
}

// ---------------------------------------------------------------------------------------------
// Public entry points

/** Config file and data dir of one agent, inside `.consul/data/` so a teardown can find it. */
function workDir(node: string): string {
  const { data } = harnessPaths();
  fs.mkdirSync(data, { recursive: true });
  return fs.mkdtempSync(path.join(data, `${node}-`));
}

/**
 * Starts (or, with CONSUL_HTTP_ADDR, connects to) a dev agent and resolves once it has a leader
 * and accepts a KV write. Stop it in `afterAll`; globalTeardown stops whatever a failed suite left.
 */
export async function startConsulAgent(options: StartAgentOptions = {}): Promise<ConsulAgent> {
  const source = await ensureConsulSource({}, { forceLocal: options.forceLocal || !!options.acl });
  if (source.kind === 'external') {
    const agent = new ExternalConsulAgent(source.address!);
    await pollUntil(
      `Consul agent at ${agent.address} (CONSUL_HTTP_ADDR)`,
      () => isServing(agent.address, process.env.CONSUL_HTTP_TOKEN),
      10_000,
    );
    return agent;
  }
  if (source.kind === 'docker') return DockerConsulAgent.start(options);
  const host = '127.0.0.1';
  for (let attempt = 1; ; attempt++) {
    const [http, server, serfLan, serfWan] = await findFreePorts([host], 4);
    const node = uniqueNode('dev');
    const agent = new LocalConsulAgent({
      binary: source.binary!,
      node,
      host,
      ports: { http, server, serfLan, serfWan },
      mode: ['-dev'],
      config: agentConfig(options),
      token: options.acl?.managementToken,
      workDir: workDir(node),
      ownProcessGroup: options.ownProcessGroup,
    });
    agent.spawn();
    try {
      await agent.waitReady();
      return agent;
    } catch (error) {
      const retry = agent.lostPortRace() && attempt < 3;
      await agent.stop();
      if (!retry) throw error;
    }
  }
}

/**
 * Starts three non-dev servers (`-bootstrap-expect 3`, `-retry-join` each other, Raft timing
 * multiplier 1) with data dirs in a temp folder, so a killed server restarts with its state and
 * rejoins. Needs a local binary: CONSUL_HTTP_ADDR is ignored and Docker is not supported.
 */
export async function startConsulCluster(
  options: { sessionTtlMin?: string } = {},
): Promise<ConsulCluster> {
  const source = await ensureConsulSource({}, { forceLocal: true });
  if (source.kind === 'docker') {
    throw new Error(
      'startConsulCluster needs a local consul binary (CONSUL_BIN=/path/to/consul or consul on ' +
        'PATH); clusters in Docker are not supported by the harness.',
    );
  }
  const distinct = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];
  const hosts = (await Promise.all(distinct.map(canBind))).every(Boolean)
    ? distinct
    : ['127.0.0.1', '127.0.0.1', '127.0.0.1'];
  for (let attempt = 1; ; attempt++) {
    const ports = await findFreePorts([...new Set(hosts)], 12);
    const cluster = new LocalConsulCluster(source, hosts, ports, options);
    try {
      await cluster.start();
      return cluster;
    } catch (error) {
      const retry = cluster.servers.some((s) => s.lostPortRace()) && attempt < 3;
      await cluster.stop();
      if (!retry) throw error;
    }
  }
}

class LocalConsulCluster implements ConsulCluster {
  readonly servers: LocalConsulAgent[];

  constructor(
    source: ConsulSource,
    hosts: readonly string[],
    ports: readonly number[],
    options: { sessionTtlMin?: string },
  ) {
    const id = `${process.pid}-${randomBytes(3).toString('hex')}`;
    const serf = hosts.map((host, i) => `${host}:${ports[i * 4 + 2]}`);
    this.servers = hosts.map((host, i) => {
      const node = `ncl-srv-${id}-${i}`;
      const dir = workDir(node);
      return new LocalConsulAgent({
        binary: source.binary!,
        node,
        host,
        ports: {
          http: ports[i * 4],
          server: ports[i * 4 + 1],
          serfLan: ports[i * 4 + 2],
          serfWan: ports[i * 4 + 3],
        },
        mode: [
          '-server',
          ...['-bootstrap-expect', '3', '-data-dir', path.join(dir, 'data')],
          ...serf.filter((_, j) => j !== i).flatMap((a) => ['-retry-join', a]),
          // The default 30 s between join attempts would stall a start where one server is late.
          ...['-retry-interval', '1s'],
        ],
        config: deepMerge(agentConfig({ sessionTtlMin: options.sessionTtlMin }), {
          // Raft's timings × 1 instead of × 5: leader loss is detected in about a second.
          performance: { raft_multiplier: 1 },
        }),
        token: undefined,
        workDir: dir,
      });
    });
  }

  async start(): Promise<void> {
    // All three must run before any can elect a leader (bootstrap-expect 3).
    this.servers.forEach((s) => s.spawn());
    await Promise.all(this.servers.map((s) => s.waitReady()));
  }

  private server(i: number): LocalConsulAgent {
    const server = this.servers[i];
    if (server === undefined) throw new Error(`No server ${i}: the cluster has 0..2`);
    return server;
  }

  async raftLeaderIndex(exclude = -1): Promise<number> {
    for (const [i, server] of this.servers.entries()) {
      if (i === exclude || server.pid === undefined) continue;
      const leader = await statusLeader(server.address);
      if (leader !== '') return this.servers.findIndex((s) => s.raftAddress === leader);
    }
    return -1;
  }

  async waitForRaftLeader(timeoutMs = 20_000, exclude = -1): Promise<number> {
    let index = -1;
    await pollUntil(
      'Raft leader election',
      async () => {
        index = await this.raftLeaderIndex(exclude);
        if (index === -1 || index === exclude) return `leader index ${index}`;
        // A new Raft leader answers reads from its FSM before it has applied the entries of the
        // previous term (a key written just before the failover can read as 404). Consul sets
        // "ready for consistent reads" after its leadership barrier, so wait for that too.
        try {
          const { status, body } = await consulRequest(
            this.servers[index].address,
            `/v1/kv/${READY_KEY}?consistent`,
          );
          return status === 200 || status === 404
            ? undefined
            : `consistent read: ${status} ${body}`;
        } catch (error) {
          return `consistent read: ${(error as Error).message}`;
        }
      },
      timeoutMs,
    );
    return index;
  }

  async killServer(i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.server(i).kill(signal);
  }

  async restartServer(i: number): Promise<void> {
    const server = this.server(i);
    await server.halt();
    server.spawn();
    await server.waitReady(`cluster server ${i} (${server.node}) rejoining`);
    // Its own peer list comes from its data dir and proves nothing; the leader's autopilot view
    // says whether it is in contact and caught up with the log.
    await pollUntil(
      `server ${i} (${server.node}) healthy in the leader's autopilot view`,
      async () => {
        try {
          const { status, body } = await consulRequest(
            server.address,
            '/v1/operator/autopilot/health',
          );
          const health = JSON.parse(body) as {
            Servers?: Array<{ Name: string; Healthy: boolean; Voter: boolean }>;
          };
          const self = health.Servers?.find((s) => s.Name === server.node);
          return self?.Healthy && self.Voter
            ? undefined
            : `${status} ${JSON.stringify(self ?? body)}`;
        } catch (error) {
          return (error as Error).message;
        }
      },
      READY_TIMEOUT_MS,
    );
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.stop()));
  }
}
