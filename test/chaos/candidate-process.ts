// The nemesis's handle on one candidate: its process (started, SIGKILLed, SIGSTOPped, restarted,
// stopped; always by the PID we spawned) and its two proxies in front of Consul: a TCP proxy the
// nemesis can partition, then an HTTP fault proxy that can hold answers back (slow answers) and
// counts the requests for the load check.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import type { ElectionOptions } from '../../lib/election';
import { startHttpFaultProxy, type HttpFaultProxy } from '../../harness/http-fault-proxy';
import { startTcpProxy, type TcpProxy } from '../../harness/tcp-proxy';
import type { CandidateConfig } from './candidate';
import type { CandidateToken } from './consul-world';
import type { ProcessStart } from './load';

export interface CandidateSetup {
  readonly key: string;
  readonly instanceId: string;
  /** Consul agent this candidate's proxies forward to. */
  readonly agent: { host: string; port: number };
  readonly token: CandidateToken | undefined;
  readonly logFile: string;
  readonly outDir: string;
  readonly options: Partial<ElectionOptions>;
  /** The repository the candidate script is run from (a scratch copy for a mutant). */
  readonly root: string;
}

/** Every candidate process this nemesis started and that may still run. */
const spawned = new Set<ChildProcess>();

/** A nemesis that exits (or crashes) takes its candidates with it: SIGKILL, by their PIDs. */
function killSpawned(): void {
  for (const child of spawned) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

export class CandidateProcess {
  incarnation = 0;
  /** Each start of a process, for the load rule (load.ts): its requests are told apart by when. */
  readonly starts: ProcessStart[] = [];
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  paused = false;
  /** A fault is acting on this candidate: the nemesis does not pick it for another process fault. */
  busy = false;

  private constructor(
    readonly setup: CandidateSetup,
    readonly tcp: TcpProxy,
    readonly http: HttpFaultProxy,
  ) {}

  static async create(setup: CandidateSetup): Promise<CandidateProcess> {
    const http = await startHttpFaultProxy(setup.agent);
    const tcp = await startTcpProxy({ host: http.host, port: http.port });
    return new CandidateProcess(setup, tcp, http);
  }

  get instanceId(): string {
    return this.setup.instanceId;
  }

  get alive(): boolean {
    return (
      this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null
    );
  }

  get pid(): number | undefined {
    return this.alive ? this.child!.pid : undefined;
  }

  /**
   * Options the next start uses instead of the setup's (a rolling restart's new configuration);
   * null: the setup's.
   */
  options: Partial<ElectionOptions> | null = null;

  start(): void {
    this.incarnation += 1;
    const config: CandidateConfig = {
      key: this.setup.key,
      instanceId: this.setup.instanceId,
      incarnation: this.incarnation,
      host: '127.0.0.1',
      port: this.tcp.port,
      token: this.setup.token?.secretId,
      logFile: this.setup.logFile,
      electionLogFile: join(this.setup.outDir, `${this.setup.instanceId}.election.log`),
      options: this.options ?? this.setup.options,
      nemesisPid: process.pid,
    };
    const stderr = openSync(join(this.setup.outDir, `${this.setup.instanceId}.stderr.log`), 'a');
    const child = spawn(
      process.execPath,
      [
        '-r',
        'ts-node/register/transpile-only',
        join(this.setup.root, 'test', 'chaos', 'candidate.ts'),
        JSON.stringify(config),
      ],
      { cwd: this.setup.root, stdio: ['ignore', stderr, stderr] },
    );
    closeSync(stderr);
    child.on('error', () => undefined);
    if (!process.listeners('exit').includes(killSpawned)) process.on('exit', killSpawned);
    spawned.add(child);
    this.exited = new Promise((resolve) =>
      child.once('exit', () => {
        spawned.delete(child);
        resolve();
      }),
    );
    this.child = child;
    this.paused = false;
    this.starts.push({
      at: performance.now(),
      name: `${this.setup.instanceId}#${this.incarnation}`,
      options: config.options,
    });
  }

  /** Sends `signal` to the process we spawned (by its PID, through its handle). */
  signal(signal: NodeJS.Signals): void {
    if (this.alive) this.child!.kill(signal);
    if (signal === 'SIGSTOP') this.paused = true;
    if (signal === 'SIGCONT') this.paused = false;
  }

  async kill(): Promise<void> {
    if (!this.alive) return;
    this.child!.kill('SIGKILL');
    await this.exited;
    this.paused = false;
  }

  /** SIGTERM (election.stop(), which releases and leaves Consul); SIGKILL after `graceMs`. */
  async stop(graceMs: number): Promise<'stopped' | 'killed'> {
    if (!this.alive) return 'stopped';
    if (this.paused) this.signal('SIGCONT');
    this.child!.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>(
      (resolve) => (timer = setTimeout(() => resolve('late'), graceMs)),
    );
    const outcome = await Promise.race([this.exited.then(() => 'exited' as const), late]);
    clearTimeout(timer);
    if (outcome === 'exited') return 'stopped';
    await this.kill();
    return 'killed';
  }

  async close(): Promise<void> {
    await this.kill();
    await this.tcp.close();
    await this.http.close();
  }
}
