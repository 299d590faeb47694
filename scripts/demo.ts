/*
 * `npm start` — the sample app, three times, electing a leader on a dev Consul:
 *   1. starts a dev Consul agent through the Consul harness (harness/) (or uses CONSUL_HTTP_ADDR);
 *   2. starts instances a, b and c of sample/main.ts as child processes, output prefixed;
 *   3. shows which one leads (GET /leader of each) and that the job ticks only there;
 *   4. kills the leader with SIGKILL and measures the failover (kill → another one leads, ticks);
 *   5. stops the new leader with SIGTERM and measures the graceful handoff;
 *   6. starts the stopped instances again and runs until Ctrl-C, which stops everything it started.
 *
 * `npm run demo -- --ci` runs 1-5 without a terminal, prints a summary and exits 0 only if both a
 * crash failover and a graceful handoff were seen, with no tick on an instance that did not lead.
 * `--verbose` also shows Nest's start-up lines and debug output.
 */
import * as fs from 'node:fs';
import { findFreePorts, startConsulAgent, type ConsulAgent } from '../harness';
import { createPaint, type AnsiColour } from './demo/ansi';
import { compileSample } from './demo/compile-sample';
import {
  SampleInstance,
  type InstanceEvent,
  type InstanceEventKind,
  type LogLine,
} from './demo/sample-instance';

interface DemoOptions {
  readonly ci: boolean;
  readonly verbose: boolean;
}

/** The whole `--ci` run must finish within this; a hung step fails the run instead of CI's job. */
const CI_TIMEOUT_MS = 90_000;
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
 * Hidden unless `--verbose`: Nest's start-up chatter, and debug lines (the library logs every
 * skipped `@LeaderOnly` method at debug, once per method each time an instance stops leading).
 */
const STARTUP_CONTEXTS = new Set([
  'NestFactory',
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
]);
const QUIET_LEVELS = new Set(['DEBUG', 'VERBOSE']);

interface Transition {
  readonly from: string;
  readonly to: string;
  /** Signal sent → the next instance logged "became leader". */
  readonly electedMs: number;
  /** Signal sent → the next instance's first job tick. */
  readonly firstTickMs: number;
  readonly tokens: readonly [number | null, number | null];
}

interface DemoResults {
  firstLeader?: { name: string; afterMs: number };
  crash?: Transition;
  handoff?: Transition & { exitMs: number | undefined };
  /** Ticks logged by an instance that, by its own log, was not leading at the time. */
  followerTicks: number;
}

class StepFailed extends Error {}

class Demo {
  private readonly paint = createPaint();
  private readonly startedAt = performance.now();
  private readonly instances: SampleInstance[] = [];
  private readonly colours = new Map<string, AnsiColour>();
  private readonly events: InstanceEvent[] = [];
  private readonly waiters = new Set<() => void>();
  /** Instances the demo itself signalled: their exit is expected. */
  private readonly signalled = new Set<SampleInstance>();
  private readonly leading = new Set<SampleInstance>();
  private consul: ConsulAgent | undefined;
  /** Kept so that a stop during the agent's start-up still stops it. */
  private consulStarting: Promise<ConsulAgent> | undefined;
  private compiledDir: string | undefined;
  private failure: Error | undefined;
  private storyDone = false;
  private lastLoss: { instance: SampleInstance; at: number } | undefined;
  private stopping: Promise<void> | undefined;
  readonly results: DemoResults = { followerTicks: 0 };

  constructor(private readonly options: DemoOptions) {}

  get isStopping(): boolean {
    return this.stopping !== undefined;
  }

  // ------------------------------------------------------------------------------------------
  // Output

  private stamp(): string {
    return `${((performance.now() - this.startedAt) / 1000).toFixed(1).padStart(6)}s`;
  }

  narrate(text: string, colour: AnsiColour = 'bold'): void {
    console.log(`${this.paint('dim', this.stamp())} ${this.paint(colour, `demo ┃ ${text}`)}`);
  }

  private label(instance: SampleInstance): string {
    return this.paint(this.colours.get(instance.name) ?? 'bold', instance.name);
  }

  private printLine(instance: SampleInstance, raw: string, line: LogLine | undefined): void {
    if (
      line &&
      !this.options.verbose &&
      (QUIET_LEVELS.has(line.level) || (line.level === 'LOG' && STARTUP_CONTEXTS.has(line.context)))
    ) {
      return;
    }
    const colour = this.colours.get(instance.name) ?? 'bold';
    let text = line ? `[${line.context}] ${line.message}` : raw;
    if (line && line.level !== 'LOG') text = `${line.level} ${text}`;
    if (line?.level === 'WARN') text = this.paint('yellow', text);
    if (line && ['ERROR', 'FATAL'].includes(line.level)) text = this.paint('red', text);
    console.log(
      `${this.paint('dim', this.stamp())} ${this.paint(colour, `${instance.name.padEnd(4)} ┃`)} ${text}`,
    );
  }

  private ms(value: number): string {
    return value < 10_000 ? `${Math.round(value)} ms` : `${(value / 1000).toFixed(1)} s`;
  }

  // ------------------------------------------------------------------------------------------
  // Events from the instances

  private onEvent(event: InstanceEvent): void {
    const { instance, kind } = event;
    if (kind === 'became-leader') this.leading.add(instance);
    if (kind === 'stepped-down') this.leading.delete(instance);
    if (kind === 'tick' && !this.leading.has(instance)) {
      this.results.followerTicks += 1;
      this.narrate(`${instance.name} ticked without leading — this must never happen`, 'red');
    }
    if (kind === 'became-leader' && this.storyDone && this.lastLoss) {
      const { instance: lost, at } = this.lastLoss;
      this.narrate(
        `${this.label(instance)} took over ${this.ms(event.at - at)} after ${this.label(lost)} exited`,
      );
      this.lastLoss = undefined;
    }
    this.events.push(event);
    this.waiters.forEach((wake) => wake());
  }

  private onExit(
    instance: SampleInstance,
    code: number | null,
    signal: NodeJS.Signals | null,
  ): void {
    this.leading.delete(instance);
    if (this.isStopping) return;
    const how = signal ? `signal ${signal}` : `code ${code}`;
    if (this.storyDone) {
      this.narrate(`${this.label(instance)} exited (${how})`);
      this.lastLoss = { instance, at: performance.now() };
    } else if (!this.signalled.has(instance)) {
      this.failure = new StepFailed(
        `instance ${instance.name} exited unexpectedly (${how}); its output is above`,
      );
      this.waiters.forEach((wake) => wake());
    }
  }

  /** The first event since `since` that matches, or a StepFailed after `timeoutMs`. */
  private waitForEvent(
    what: string,
    kind: InstanceEventKind,
    match: (instance: SampleInstance) => boolean,
    since: number,
    timeoutMs: number,
  ): Promise<InstanceEvent> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = this.events.find(
          (e) => e.at >= since && e.kind === kind && match(e.instance),
        );
        const failure =
          this.failure ??
          (performance.now() - since > timeoutMs
            ? new StepFailed(`${what}: not seen within ${this.ms(timeoutMs)}`)
            : undefined);
        if (!found && !failure) return;
        clearInterval(timer);
        this.waiters.delete(check);
        if (found) resolve(found);
        else reject(failure);
      };
      const timer = setInterval(check, 100);
      this.waiters.add(check);
      check();
    });
  }

  /** Polls GET /leader of `instances` until all answer, exactly one leads, and all name it. */
  private async waitForAgreedLeader(
    instances: readonly SampleInstance[],
    timeoutMs: number,
  ): Promise<{ leader: SampleInstance; fencingToken: number | null }> {
    const deadline = performance.now() + timeoutMs;
    let last = 'no answer yet';
    while (performance.now() < deadline) {
      if (this.failure) throw this.failure;
      const statuses = await Promise.all(instances.map((i) => i.status()));
      const leaders = statuses.filter((s) => s?.isLeader);
      if (statuses.some((s) => s === undefined)) {
        last = `${statuses.filter((s) => s === undefined).length} instance(s) not answering yet`;
      } else if (leaders.length !== 1) {
        last = `${leaders.length} instances say they lead`;
      } else if (!statuses.every((s) => s?.leader?.instanceId === leaders[0]!.instanceId)) {
        last = `they disagree: ${statuses.map((s) => `${s!.instanceId}→${s!.leader?.instanceId ?? 'nobody'}`).join(', ')}`;
      } else {
        const leader = instances.find((i) => i.name === leaders[0]!.instanceId)!;
        return { leader, fencingToken: leaders[0]!.fencingToken };
      }
      await delay(200);
    }
    throw new StepFailed(`no agreed leader within ${this.ms(timeoutMs)} (${last})`);
  }

  // ------------------------------------------------------------------------------------------
  // The story

  async run(): Promise<boolean> {
    this.narrate(
      `nestjs-consul-leader demo pid ${process.pid}${this.options.ci ? ' (--ci)' : ' — Ctrl-C stops everything it starts'}`,
    );
    this.narrate(
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
    this.narrate(`Consul ${await this.consul.version()} at ${this.consul.address}${pid}`);

    // A key of its own, so two demos (or a demo and a test) on one agent never compete.
    const key = process.env.LEADER_KEY || `sample/leader-${process.pid}`;
    const ports = await findFreePorts(['127.0.0.1'], INSTANCES.length);
    for (const [i, { name, colour }] of INSTANCES.entries()) {
      this.colours.set(name, colour);
      const instance = new SampleInstance(
        {
          name,
          port: ports[i]!,
          entry: compiled.entry,
          env: { CONSUL_HTTP_ADDR: this.consul.address, LEADER_KEY: key },
        },
        {
          onLine: (inst, raw, line) => this.printLine(inst, raw, line),
          onEvent: (event) => this.onEvent(event),
          onExit: (inst, code, signal) => this.onExit(inst, code, signal),
        },
      );
      this.instances.push(instance);
    }
    const bootAt = performance.now();
    for (const instance of this.instances) instance.start();
    this.narrate(
      `Started ${this.instances.map((i) => `${this.label(i)} (pid ${i.pid}, ${i.url})`).join(', ')} competing for key ${key}`,
    );

    // Who leads, according to every instance's GET /leader.
    const first = await this.waitForAgreedLeader(this.instances, FIRST_LEADER_TIMEOUT_MS);
    const followers = this.instances.filter((i) => i !== first.leader);
    this.results.firstLeader = { name: first.leader.name, afterMs: performance.now() - bootAt };
    this.narrate(
      `${this.label(first.leader)} leads (fencing token ${first.fencingToken}); ${followers.map((i) => this.label(i)).join(' and ')} follow — all three say so on GET /leader`,
      'green',
    );

    // The job ticks on the leader only.
    const windowStart = performance.now();
    await delay(STEADY_WINDOW_MS);
    if (this.failure) throw this.failure;
    const counts = this.instances.map(
      (i) =>
        `${this.label(i)}=${this.events.filter((e) => e.kind === 'tick' && e.instance === i && e.at >= windowStart).length}`,
    );
    this.narrate(
      `Job ticks in the last ${STEADY_WINDOW_MS / 1000} s: ${counts.join(' ')}`,
      'green',
    );

    // Crash: nothing is released, the health check has to expire.
    this.narrate(
      `Killing the leader ${this.label(first.leader)} with SIGKILL (a crash: it releases nothing)…`,
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
    this.narrate(
      `Failover: ${crash.to} leads ${this.ms(crash.electedMs)} after the kill (fencing token ${crash.tokens[0]} → ${crash.tokens[1]}), first tick after ${this.ms(crash.firstTickMs)}`,
      'green',
    );

    // Graceful: SIGTERM runs the shutdown hooks, which release the key at once.
    await delay(2_000);
    const second = this.instances.find((i) => i.name === crash.to)!;
    const rest = followers.filter((i) => i !== second);
    this.narrate(`Stopping the leader ${this.label(second)} gracefully with SIGTERM…`, 'red');
    this.signalled.add(second);
    const stoppedAt = second.signal('SIGTERM');
    const handoff = await this.measureTransition(second, crash.tokens[1], stoppedAt, rest);
    const exitAt = await second.waitForExit(STOP_GRACE_MS);
    this.results.handoff = {
      ...handoff,
      exitMs: exitAt === undefined ? undefined : exitAt - stoppedAt,
    };
    this.narrate(
      `Handoff: ${handoff.to} leads ${this.ms(handoff.electedMs)} after the SIGTERM (fencing token ${handoff.tokens[0]} → ${handoff.tokens[1]}), first tick after ${this.ms(handoff.firstTickMs)}; ${second.name} exited after ${exitAt === undefined ? '—' : this.ms(exitAt - stoppedAt)}`,
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
    const elected = await this.waitForEvent(
      `a new leader after ${from.name} went`,
      'became-leader',
      isCandidate,
      at,
      FAILOVER_TIMEOUT_MS,
    );
    const tick = await this.waitForEvent(
      `${elected.instance.name}'s first tick`,
      'tick',
      (i) => i === elected.instance,
      at,
      FAILOVER_TIMEOUT_MS,
    );
    // The survivors must agree too, not just the new leader's log.
    await this.waitForAgreedLeader(candidates, FAILOVER_TIMEOUT_MS);
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
    this.narrate(
      `Restarted ${stopped.map((i) => `${this.label(i)} (pid ${i.pid})`).join(' and ')}: they join as followers.`,
    );
    this.narrate(`Try: curl ${this.instances[0]!.url}/leader   or   kill -9 <the leader's pid>`);
    this.narrate('Press Ctrl-C to stop every process the demo started.');
    await new Promise<never>(() => undefined);
  }

  printSummary(ok: boolean, error?: Error): void {
    const r = this.results;
    const line = (name: string, text: string): void => console.log(`  ${name.padEnd(18)} ${text}`);
    console.log('');
    console.log(this.paint('bold', 'Summary'));
    line(
      'first leader',
      r.firstLeader
        ? `${r.firstLeader.name}, ${this.ms(r.firstLeader.afterMs)} after the instances were started`
        : '—',
    );
    line(
      'crash failover',
      r.crash
        ? `${r.crash.from} SIGKILL → ${r.crash.to} leader in ${this.ms(r.crash.electedMs)}, first tick in ${this.ms(r.crash.firstTickMs)}`
        : 'not seen',
    );
    line(
      'graceful handoff',
      r.handoff
        ? `${r.handoff.from} SIGTERM → ${r.handoff.to} leader in ${this.ms(r.handoff.electedMs)}, first tick in ${this.ms(r.handoff.firstTickMs)}`
        : 'not seen',
    );
    line('follower ticks', String(r.followerTicks));
    if (error) line('failed', error.message);
    console.log(ok ? this.paint('green', 'DEMO OK') : this.paint('red', 'DEMO FAILED'));
    // One machine-readable line for CI logs and scripts.
    console.log(
      `DEMO_RESULT ${JSON.stringify({
        ok,
        crashFailoverMs: r.crash && Math.round(r.crash.electedMs),
        crashFirstTickMs: r.crash && Math.round(r.crash.firstTickMs),
        handoffMs: r.handoff && Math.round(r.handoff.electedMs),
        handoffFirstTickMs: r.handoff && Math.round(r.handoff.firstTickMs),
        followerTicks: r.followerTicks,
      })}`,
    );
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
      this.waiters.forEach((wake) => wake());
      await Promise.all(this.instances.map((instance) => instance.stop(STOP_GRACE_MS)));
      const consul = await this.consulStarting?.catch(() => undefined);
      await consul?.stop();
      this.removeCompiled();
      const left = this.instances.filter((i) => i.running).map((i) => `${i.name} (pid ${i.pid})`);
      const agent = consul?.external === false ? ' and the Consul agent' : '';
      this.narrate(
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

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => !['--ci', '--verbose'].includes(a));
  if (unknown.length > 0) {
    console.error(`Unknown argument(s) ${unknown.join(' ')}; usage: demo [--ci] [--verbose]`);
    process.exit(2);
  }
  const options: DemoOptions = { ci: args.includes('--ci'), verbose: args.includes('--verbose') };
  const demo = new Demo(options);

  const finish = async (code: number): Promise<never> => {
    await demo.stop();
    process.exit(code);
  };
  process.on('exit', () => demo.killNow());
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (demo.isStopping) {
        demo.narrate('Stopping now (SIGKILL).', 'red');
        demo.killNow();
        process.exit(130);
      }
      demo.narrate(`${signal}: stopping every process the demo started…`);
      void finish(signal === 'SIGINT' ? 130 : 143);
    });
  }
  if (options.ci) {
    setTimeout(() => {
      demo.printSummary(
        false,
        new Error(`the demo did not finish within ${CI_TIMEOUT_MS / 1000} s`),
      );
      void finish(1);
    }, CI_TIMEOUT_MS).unref();
  }

  let ok = false;
  try {
    ok = await demo.run();
    demo.printSummary(ok);
  } catch (error) {
    if (demo.isStopping) return;
    demo.printSummary(false, error as Error);
    if (!(error instanceof StepFailed)) console.error(error);
  }
  if (demo.isStopping) return;
  if (options.ci || !ok) await finish(ok ? 0 : 1);
  await demo.freePlay();
}

void main();
