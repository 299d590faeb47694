import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import type { LeaderStatus } from '../../sample/leader.controller';
import { stripAnsi } from './ansi';

const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

/** What the demo reads from an instance's log: the sample's stable phrases. */
export type InstanceEventKind = 'became-leader' | 'stepped-down' | 'tick';

export interface InstanceEvent {
  readonly instance: SampleInstance;
  readonly kind: InstanceEventKind;
  /** `performance.now()` when the demo read the line. */
  readonly at: number;
  readonly fencingToken: number | null;
}

/** One parsed line of Nest's ConsoleLogger (`NO_COLOR` set, so no escapes). */
export interface LogLine {
  readonly level: string;
  readonly context: string;
  readonly message: string;
}

// `[Nest] 4242  - 11/25/2026, 8:09:21 AM     LOG [JobsService] tick 3 (fencing token 7)`
const NEST_LINE =
  /^\[Nest\] \d+\s+-\s+.+?\s+(LOG|ERROR|WARN|DEBUG|VERBOSE|FATAL) \[([^\]]+)\] (.*)$/;

export function parseNestLine(raw: string): LogLine | undefined {
  const match = NEST_LINE.exec(stripAnsi(raw));
  return match ? { level: match[1], context: match[2], message: match[3] } : undefined;
}

/** The sample's own phrases (see sample/leadership-logger.service.ts and jobs.service.ts). */
export function eventOf(
  line: LogLine,
): { kind: InstanceEventKind; fencingToken: number | null } | undefined {
  const token = /fencing token (\d+)/.exec(line.message);
  const fencingToken = token ? Number(token[1]) : null;
  if (line.context === 'Leadership' && line.message.startsWith('became leader')) {
    return { kind: 'became-leader', fencingToken };
  }
  if (line.context === 'Leadership' && line.message.startsWith('stepped down')) {
    return { kind: 'stepped-down', fencingToken };
  }
  if (line.context === 'JobsService' && /^tick \d+/.test(line.message)) {
    return { kind: 'tick', fencingToken };
  }
  return undefined;
}

export interface InstanceHooks {
  /** Every output line, stdout and stderr, as the instance wrote it. */
  onLine(instance: SampleInstance, raw: string, parsed: LogLine | undefined): void;
  onEvent(event: InstanceEvent): void;
  onExit(instance: SampleInstance, code: number | null, signal: NodeJS.Signals | null): void;
}

export interface InstanceSpec {
  /** Short name shown in the prefix and used as INSTANCE_ID. */
  readonly name: string;
  readonly port: number;
  /** The transpiled `sample/main.ts` (see compile-sample.ts). */
  readonly entry: string;
  readonly env: NodeJS.ProcessEnv;
}

/** A sample app (`sample/main.ts`) running as a child process of the demo. */
export class SampleInstance {
  private child: ChildProcess | undefined;
  private exitedAt: number | undefined;
  private exitPromise: Promise<void> = Promise.resolve();

  constructor(
    readonly spec: InstanceSpec,
    private readonly hooks: InstanceHooks,
  ) {}

  get name(): string {
    return this.spec.name;
  }

  get port(): number {
    return this.spec.port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.spec.port}`;
  }

  /** The child's PID while it runs. */
  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  get running(): boolean {
    return this.child !== undefined && this.exitedAt === undefined;
  }

  start(): void {
    this.exitedAt = undefined;
    // The same Node that runs the demo, on the sample as `compileSample()` transpiled it.
    const child = spawn(process.execPath, ['--enable-source-maps', this.spec.entry], {
      cwd: PROJECT_ROOT,
      env: {
        ...process.env,
        ...this.spec.env,
        PORT: String(this.spec.port),
        INSTANCE_ID: this.spec.name,
        // Plain lines: the demo parses them and adds its own colours.
        NO_COLOR: '1',
        FORCE_COLOR: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      // A process group of its own: a terminal's Ctrl-C reaches only the demo, which then stops
      // each instance with one SIGTERM. (A second signal during Nest's shutdown hooks would kill
      // the process before its leader releases the key.)
      detached: true,
    });
    this.child = child;
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream! }).on('line', (raw) => this.onLine(raw));
    }
    this.exitPromise = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitedAt = performance.now();
        this.hooks.onExit(this, code, signal);
        resolve();
      });
    });
    // A spawn error is followed by `exit`; it needs a listener so it does not throw.
    child.once('error', () => undefined);
  }

  private onLine(raw: string): void {
    const parsed = parseNestLine(raw);
    this.hooks.onLine(this, raw, parsed);
    const event = parsed && eventOf(parsed);
    if (event) this.hooks.onEvent({ instance: this, at: performance.now(), ...event });
  }

  /** Sends `signal` if the instance runs; returns `performance.now()` just before sending. */
  signal(signal: NodeJS.Signals): number {
    const at = performance.now();
    if (this.running) this.child?.kill(signal);
    return at;
  }

  /** Resolves with the exit time, or undefined if it still runs after `timeoutMs`. */
  async waitForExit(timeoutMs: number): Promise<number | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([this.exitPromise, timeout]);
    clearTimeout(timer);
    return this.exitedAt;
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs: number): Promise<void> {
    if (!this.running) return;
    this.signal('SIGTERM');
    if ((await this.waitForExit(graceMs)) === undefined) {
      this.signal('SIGKILL');
      await this.waitForExit(5_000);
    }
  }

  /** Synchronous last resort from an `exit` handler. */
  killNow(): void {
    if (this.running) this.child?.kill('SIGKILL');
  }

  /** `GET /leader`, or undefined while the instance does not answer. */
  async status(timeoutMs = 1_000): Promise<LeaderStatus | undefined> {
    if (!this.running) return undefined;
    try {
      const response = await fetch(`${this.url}/leader`, {
        signal: AbortSignal.timeout(timeoutMs),
      });
      return response.ok ? ((await response.json()) as LeaderStatus) : undefined;
    } catch {
      return undefined;
    }
  }
}
