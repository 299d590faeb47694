// An agent we spawn from a local binary (dev agent or cluster server), recorded by PID so that
// a teardown, or a watchdog when its owner dies, can stop it.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tail, type Json } from './agent-config';
import { READY_TIMEOUT_MS, STOP_GRACE_MS, type ConsulAgent } from './consul-agent';
import { agentVersion, isServing, pollReady } from './consul-http';
import { harnessPaths } from './harness-paths';
import { forgetProcess, installExitCleanup, recordProcess, watchOwner } from './process-registry';

export interface LocalAgentSpec {
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

export class LocalConsulAgent implements ConsulAgent {
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
    await pollReady(
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
