import * as fs from 'node:fs';
import { delay, findFreePorts, startConsulAgent, type ConsulAgent } from '../../harness';
import type { AnsiColour } from './ansi';
import { compileSample } from './compile-sample';
import { DemoConsole, formatMs } from './demo-console';
import { printSummary, StepFailed, type DemoResults, type Transition } from './demo-results';
import { fireNoteOf, ledgerOf, type FireNote } from './fire-ledger';
import { SAMPLE_CLUSTER_JOBS } from '../../sample/reports.service';
import { InstanceEvents } from './instance-events';
import { SampleInstance, type InstanceEvent } from './sample-instance';

export interface DemoOptions {
  readonly ci: boolean;
  readonly verbose: boolean;
}

/** The whole `--ci` run must finish within this; a hung step fails the run instead of CI's job. */
export const CI_TIMEOUT_MS = 90_000;
/** Three Nest apps starting on a busy two-core CI machine, then the first lease wait. */
const FIRST_LEADER_TIMEOUT_MS = 45_000;
/** Defaults give a few seconds; anything near this is a bug worth failing on. */
const FAILOVER_TIMEOUT_MS = 30_000;
const STEADY_WINDOW_MS = 3_000;
/** How long an instance may take to shut down before it gets SIGKILL. */
const STOP_GRACE_MS = 10_000;

const INSTANCES: ReadonlyArray<{ name: string; colour: AnsiColour }> = [
  { name: 'a', colour: 'cyan' },
  { name: 'b', colour: 'magenta' },
  { name: 'c', colour: 'yellow' },
];

/**
 * The story of `npm start` (see scripts/demo.ts): Consul, three sample instances, who leads, a
 * crash failover, a graceful handoff, then free play; and stopping all of it, once.
 */
export class Demo {
  private readonly out: DemoConsole;
  private readonly events = new InstanceEvents();
  private readonly instances: SampleInstance[] = [];
  /** Instances the demo itself signalled: their exit is expected. */
  private readonly signalled = new Set<SampleInstance>();
  private consul: ConsulAgent | undefined;
  /** Kept so that a stop during the agent's start-up still stops it. */
  private consulStarting: Promise<ConsulAgent> | undefined;
  private compiledDir: string | undefined;
  private storyDone = false;
  private lastLoss: { instance: SampleInstance; at: number } | undefined;
  private stopping: Promise<void> | undefined;
  readonly results: DemoResults = { followerTicks: 0 };
  /** What the instances said about each `@ClusterCron` fire, for the fire ledger. */
  private readonly fireNotes: FireNote[] = [];

  constructor(private readonly options: DemoOptions) {
    this.out = new DemoConsole(options.verbose);
  }

  get isStopping(): boolean {
    return this.stopping !== undefined;
  }

  narrate(text: string, colour: AnsiColour = 'bold'): void {
    this.out.narrate(text, colour);
  }

  printSummary(ok: boolean, error?: Error): void {
    this.results.ledger = Object.entries(SAMPLE_CLUSTER_JOBS).map(([job, cron]) =>
      ledgerOf(job, cron, this.fireNotes),
    );
    const clean = this.results.ledger.every(
      (l) => l.fires > 0 && l.doubled.length === 0 && l.lost.length === 0 && l.tokensGrow,
    );
    printSummary(this.results, this.out.paint, ok && clean, error);
  }

  // ------------------------------------------------------------------------------------------
  // The story

  async run(): Promise<boolean> {
    this.out.narrate(
      `nestjs-consul-leader demo pid ${process.pid}${this.options.ci ? ' (--ci)' : ' — Ctrl-C stops everything it starts'}`,
    );
    this.out.narrate(
      process.env.CONSUL_HTTP_ADDR
        ? `Using the Consul agent at CONSUL_HTTP_ADDR=${process.env.CONSUL_HTTP_ADDR}`
        : 'Starting a dev Consul agent (the harness finds or fetches the binary)…',
    );
    // Its own process group: a Ctrl-C reaches the instances (through stop()) but not the agent,
    // which stops last, once every instance has released its key.
    this.consulStarting = startConsulAgent({ ownProcessGroup: true });
    let compiled: ReturnType<typeof compileSample>;
    try {
      // Synchronous work that overlaps with the agent's start-up.
      compiled = compileSample();
      this.compiledDir = compiled.outDir;
    } finally {
      this.consul = await this.consulStarting;
    }
    const pid = this.consul.pid === undefined ? '' : `, pid ${this.consul.pid}`;
    this.out.narrate(`Consul ${await this.consul.version()} at ${this.consul.address}${pid}`);

    // A key of its own, so two demos (or a demo and a test) on one agent never compete.
    const key = process.env.LEADER_KEY || `sample/leader-${process.pid}`;
    const ports = await findFreePorts(['127.0.0.1'], INSTANCES.length);
    for (const [i, { name, colour }] of INSTANCES.entries()) {
      this.out.colour(name, colour);
      const instance = new SampleInstance(
        {
          name,
          port: ports[i]!,
          entry: compiled.entry,
          env: { CONSUL_HTTP_ADDR: this.consul.address, LEADER_KEY: key },
        },
        {
          onLine: (inst, raw, line) => {
            this.out.printLine(inst, raw, line);
            const note = line && fireNoteOf(line.message, inst.name);
            if (note) this.fireNotes.push(note);
          },
          onEvent: (event) => this.onEvent(event),
          onExit: (inst, code, signal) => this.onExit(inst, code, signal),
        },
      );
      this.instances.push(instance);
    }
    const bootAt = performance.now();
    for (const instance of this.instances) instance.start();
    this.out.narrate(
      `Started ${this.instances.map((i) => `${this.out.label(i)} (pid ${i.pid}, ${i.url})`).join(', ')} competing for key ${key}`,
    );

    // Who leads, according to every instance's GET /leader.
    const first = await this.events.waitForAgreedLeader(this.instances, FIRST_LEADER_TIMEOUT_MS);
    const followers = this.instances.filter((i) => i !== first.leader);
    this.results.firstLeader = { name: first.leader.name, afterMs: performance.now() - bootAt };
    this.out.narrate(
      `${this.out.label(first.leader)} leads (fencing token ${first.fencingToken}); ${followers.map((i) => this.out.label(i)).join(' and ')} follow — all three say so on GET /leader`,
      'green',
    );

    // The job ticks on the leader only.
    const windowStart = performance.now();
    await delay(STEADY_WINDOW_MS);
    if (this.events.failed) throw this.events.failed;
    const counts = this.instances.map(
      (i) => `${this.out.label(i)}=${this.events.ticksSince(i, windowStart)}`,
    );
    this.out.narrate(
      `Job ticks in the last ${STEADY_WINDOW_MS / 1000} s: ${counts.join(' ')}`,
      'green',
    );

    // Crash: nothing is released, the health check has to expire.
    this.out.narrate(
      `Killing the leader ${this.out.label(first.leader)} with SIGKILL (a crash: it releases nothing)…`,
      'red',
    );
    this.signalled.add(first.leader);
    const killedAt = first.leader.signal('SIGKILL');
    this.results.crash = await this.measureTransition(
      first.leader,
      first.fencingToken,
      killedAt,
      followers,
    );
    const crash = this.results.crash;
    this.out.narrate(
      `Failover: ${crash.to} leads ${formatMs(crash.electedMs)} after the kill (fencing token ${crash.tokens[0]} → ${crash.tokens[1]}), first tick after ${formatMs(crash.firstTickMs)}`,
      'green',
    );

    // Graceful: SIGTERM runs the shutdown hooks, which release the key at once.
    await delay(2_000);
    const second = this.instances.find((i) => i.name === crash.to)!;
    const rest = followers.filter((i) => i !== second);
    this.out.narrate(
      `Stopping the leader ${this.out.label(second)} gracefully with SIGTERM…`,
      'red',
    );
    this.signalled.add(second);
    const stoppedAt = second.signal('SIGTERM');
    const handoff = await this.measureTransition(second, crash.tokens[1], stoppedAt, rest);
    const exitAt = await second.waitForExit(STOP_GRACE_MS);
    this.results.handoff = {
      ...handoff,
      exitMs: exitAt === undefined ? undefined : exitAt - stoppedAt,
    };
    this.out.narrate(
      `Handoff: ${handoff.to} leads ${formatMs(handoff.electedMs)} after the SIGTERM (fencing token ${handoff.tokens[0]} → ${handoff.tokens[1]}), first tick after ${formatMs(handoff.firstTickMs)}; ${second.name} exited after ${exitAt === undefined ? '—' : formatMs(exitAt - stoppedAt)}`,
      'green',
    );
    this.storyDone = true;
    return this.results.followerTicks === 0;
  }

  private async measureTransition(
    from: SampleInstance,
    fromToken: number | null,
    at: number,
    candidates: readonly SampleInstance[],
  ): Promise<Transition> {
    const isCandidate = (i: SampleInstance): boolean => candidates.includes(i);
    const elected = await this.events.waitFor(
      `a new leader after ${from.name} went`,
      'became-leader',
      isCandidate,
      at,
      FAILOVER_TIMEOUT_MS,
    );
    const tick = await this.events.waitFor(
      `${elected.instance.name}'s first tick`,
      'tick',
      (i) => i === elected.instance,
      at,
      FAILOVER_TIMEOUT_MS,
    );
    // The survivors must agree too, not just the new leader's log.
    await this.events.waitForAgreedLeader(candidates, FAILOVER_TIMEOUT_MS);
    return {
      from: from.name,
      to: elected.instance.name,
      electedMs: elected.at - at,
      firstTickMs: tick.at - at,
      tokens: [fromToken, elected.fencingToken],
    };
  }

  /** Interactive epilogue: the stopped instances come back as followers; runs until Ctrl-C. */
  async freePlay(): Promise<void> {
    const stopped = this.instances.filter((i) => !i.running);
    for (const instance of stopped) {
      this.signalled.delete(instance);
      instance.start();
    }
    this.out.narrate(
      `Restarted ${stopped.map((i) => `${this.out.label(i)} (pid ${i.pid})`).join(' and ')}: they join as followers.`,
    );
    this.out.narrate(
      `Try: curl ${this.instances[0]!.url}/leader   or   kill -9 <the leader's pid>`,
    );
    this.out.narrate('Press Ctrl-C to stop every process the demo started.');
    await new Promise<never>(() => undefined);
  }

  // ------------------------------------------------------------------------------------------
  // Events from the instances

  private onEvent(event: InstanceEvent): void {
    const { instance, kind } = event;
    this.events.record(event);
    if (kind === 'tick' && !this.events.isLeading(instance)) {
      this.results.followerTicks += 1;
      this.out.narrate(`${instance.name} ticked without leading — this must never happen`, 'red');
    }
    if (kind === 'became-leader' && this.storyDone && this.lastLoss) {
      const { instance: lost, at } = this.lastLoss;
      this.out.narrate(
        `${this.out.label(instance)} took over ${formatMs(event.at - at)} after ${this.out.label(lost)} exited`,
      );
      this.lastLoss = undefined;
    }
  }

  private onExit(
    instance: SampleInstance,
    code: number | null,
    signal: NodeJS.Signals | null,
  ): void {
    this.events.exited(instance);
    if (this.isStopping) return;
    const how = signal ? `signal ${signal}` : `code ${code}`;
    if (this.storyDone) {
      this.out.narrate(`${this.out.label(instance)} exited (${how})`);
      this.lastLoss = { instance, at: performance.now() };
    } else if (!this.signalled.has(instance)) {
      this.events.fail(
        new StepFailed(
          `instance ${instance.name} exited unexpectedly (${how}); its output is above`,
        ),
      );
    }
  }

  // ------------------------------------------------------------------------------------------
  // Stopping

  /**
   * Stops every instance (SIGTERM, so each leader releases its key), then Consul; safe to call more
   * than once. The instances run in process groups of their own, so a Ctrl-C reaches them only
   * through here, once.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.events.wake();
      await Promise.all(this.instances.map((instance) => instance.stop(STOP_GRACE_MS)));
      const consul = await this.consulStarting?.catch(() => undefined);
      await consul?.stop();
      this.removeCompiled();
      const left = this.instances.filter((i) => i.running).map((i) => `${i.name} (pid ${i.pid})`);
      const agent = consul?.external === false ? ' and the Consul agent' : '';
      this.out.narrate(
        left.length === 0
          ? `Stopped ${this.instances.length} instances${agent}.`
          : `Could not stop ${left.join(', ')}`,
        left.length === 0 ? 'bold' : 'red',
      );
    })();
    return this.stopping;
  }

  /** From a second Ctrl-C or the `exit` handler: no waiting. The harness kills its agent on exit. */
  killNow(): void {
    this.instances.forEach((i) => i.killNow());
    this.removeCompiled();
  }

  private removeCompiled(): void {
    if (this.compiledDir) fs.rmSync(this.compiledDir, { recursive: true, force: true });
  }
}
