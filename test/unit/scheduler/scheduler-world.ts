// The ground of the scheduler's specs: instances on a virtual clock, each with its own port on one
// Consul model (through a link the spec can hold, cut or make lose answers), its own election
// session, and a leadership the spec hands over (the Leadership seam: who believes it leads is
// the spec's to say, what Consul says is the model's). Every fire event lands in one ledger.
import type { Clock, NodeConsulPort } from '../../../lib/election';
import { ClockOffset } from '../../../lib/scheduler/clock-offset';
import type { ClusterJob, FireContext, FireEvent } from '../../../lib/scheduler/cluster-job';
import { decodeJobRecord, jobRecordKey, type JobRecord } from '../../../lib/scheduler/job-record';
import { JobRunner } from '../../../lib/scheduler/job-runner';
import type { Lead, Leadership } from '../../../lib/scheduler/leadership';
import { ConsulModel, type ModelAnswer } from '../../support/consul-model';
import { memoryLogger } from '../../support/election-kit';
import {
  modelPort,
  socketError,
  timeoutError,
  type ModelRequest,
  type ModelTransport,
} from '../../support/model-consul-client';
import { Prng } from '../../support/prng';
import { VirtualClock } from '../../support/virtual-clock';

export const ELECTION_KEY = 'service/cron/leader';
export const EVERY_5S = '*/5 * * * * *';
/** The virtual wall clock starts at 2026-01-01T00:00:00Z: fires of `EVERY_5S` at 0, 5 s, 10 s… */
export const T0 = Date.UTC(2026, 0, 1);
export const at = (seconds: number): number => T0 + seconds * 1_000;

/** A link to the model that delivers, holds (until released), refuses, or loses the next txn answer. */
export class SchedulerLink implements ModelTransport {
  holdTransactions = false;
  down = false;
  loseNextClaimAnswer = false;
  /** Reads are answered from Consul's state when they arrive, but the answer is held. */
  holdReadAnswers = false;
  private held: Array<() => void> = [];
  private heldAnswers: Array<() => void> = [];

  /** Requests sent, by client call (`kv.get`, `Transaction.create`, `session.info`). */
  readonly sent = new Map<string, number>();

  async send(request: ModelRequest): Promise<ModelAnswer> {
    if (this.down) throw socketError('ECONNREFUSED');
    this.sent.set(request.name, (this.sent.get(request.name) ?? 0) + 1);
    if (request.name === 'kv.get' && this.holdReadAnswers) {
      const answer = await request.handle();
      await new Promise<void>((resolve) => this.heldAnswers.push(resolve));
      return answer;
    }
    const txn = request.name === 'Transaction.create';
    if (txn && this.holdTransactions) await new Promise<void>((resolve) => this.held.push(resolve));
    const answer = await request.handle();
    if (txn && this.loseNextClaimAnswer) {
      // Delivered and applied, but the answer never comes back.
      this.loseNextClaimAnswer = false;
      throw timeoutError(request.name);
    }
    return answer;
  }

  /** Lets the held read answers arrive now (stale). */
  releaseHeldAnswers(): void {
    this.holdReadAnswers = false;
    for (const deliver of this.heldAnswers.splice(0)) deliver();
  }

  /** Lets the held transactions reach Consul now (late). */
  releaseHeld(): void {
    this.releaseHeldAnswers();
    this.holdTransactions = false;
    for (const deliver of this.held.splice(0)) deliver();
  }
}

/** A leadership the spec controls: what the instance believes. */
export class ManualLeadership implements Leadership {
  private lead: (Lead & { controller: AbortController }) | null = null;
  private readonly listeners = new Set<() => void>();

  current(): Lead | null {
    return this.lead && !this.lead.signal.aborted ? this.lead : null;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  begin(sessionId: string): void {
    const controller = new AbortController();
    this.lead = { electionKey: ELECTION_KEY, sessionId, signal: controller.signal, controller };
    this.notify();
  }

  end(): void {
    this.lead?.controller.abort(new Error('term ended'));
    this.lead = null;
    this.notify();
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }
}

export interface Instance {
  readonly id: string;
  readonly link: SchedulerLink;
  readonly port: NodeConsulPort;
  readonly leadership: ManualLeadership;
  readonly logs: ReturnType<typeof memoryLogger>;
  session: string;
  heldIndex: number;
  runner: JobRunner | null;
  /** The shared virtual clock, with this instance's wall-clock skew. */
  readonly clock: Clock;
}

/** A handler that runs until the spec lets it finish (or forever). */
export class Blocker {
  private readonly waiting = new Set<() => void>();

  wait(): Promise<void> {
    return new Promise<void>((resolve) => this.waiting.add(resolve));
  }

  releaseAll(): void {
    for (const resolve of [...this.waiting]) resolve();
    this.waiting.clear();
  }
}

export class SchedulerWorld {
  readonly clock = new VirtualClock();
  readonly model = new ConsulModel(this.clock, () => this.random.next());
  readonly events: FireEvent[] = [];
  readonly contexts: Array<FireContext & { instanceId: string }> = [];
  readonly blocker = new Blocker();
  private readonly random = new Prng(19);
  private readonly instances: Instance[] = [];
  /**
   * The election's own requests (acquire, release) go straight to Consul: they are not what the
   * specs hold or cut, and Consul does not care which client sends a session's acquire.
   */
  private readonly electionPort = modelPort(this.model);

  /** An instance; with `skewMs`, its wall clock runs that far ahead of the others' (behind if negative). */
  async instance(id: string, skewMs = 0): Promise<Instance> {
    const link = new SchedulerLink();
    const port = modelPort(this.model, link);
    const instance: Instance = {
      id,
      link,
      port,
      leadership: new ManualLeadership(),
      logs: memoryLogger(id),
      session: await port.createSession({ name: id, ttlMs: 0, lockDelayMs: 0, checks: [] }, 1_000),
      heldIndex: 0,
      runner: null,
      clock: {
        now: () => this.clock.now(),
        wallNow: () => this.clock.wallNow() + skewMs,
        setTimer: (callback, delayMs) => this.clock.setTimer(callback, delayMs),
        clearTimer: (handle) => this.clock.clearTimer(handle),
      },
    };
    this.instances.push(instance);
    return instance;
  }

  /** The instance takes the election key in Consul and believes it leads. */
  async lead(instance: Instance): Promise<void> {
    const { entry } = await this.electionPort.readKey(ELECTION_KEY, { timeoutMs: 1_000 });
    const acquired = await this.electionPort.acquire(
      {
        key: ELECTION_KEY,
        sessionId: instance.session,
        value: JSON.stringify({ instanceId: instance.id }),
        expectedModifyIndex: entry?.modifyIndex ?? 0,
      },
      1_000,
    );
    if (!acquired.acquired) throw new Error(`${instance.id} could not lead: ${acquired.detail}`);
    instance.heldIndex = acquired.modifyIndex;
    instance.leadership.begin(instance.session);
  }

  /** A graceful handoff's first half: the leader steps down and releases the key (its session lives). */
  async stepDown(instance: Instance): Promise<void> {
    instance.leadership.end();
    await this.electionPort.release(
      {
        key: ELECTION_KEY,
        sessionId: instance.session,
        value: '{}',
        expectedModifyIndex: instance.heldIndex,
      },
      1_000,
    );
  }

  /** The instance dies: its link goes down, its session is gone in Consul; it believes nothing more. */
  crash(instance: Instance): void {
    instance.link.down = true;
    instance.leadership.end();
    this.model.sessionDestroy(instance.session);
  }

  /** Starts a runner of the job on the instance, every fire recorded in the ledger. */
  run(
    instance: Instance,
    job: Partial<ClusterJob> = {},
    handler: (context: FireContext) => unknown = () => undefined,
  ): JobRunner {
    const name = job.name ?? 'report';
    const runner = new JobRunner({
      job: {
        name,
        cronTime: EVERY_5S,
        overlap: 'skip',
        misfire: 'run-once',
        orphans: 'record',
        graceMs: 1_000,
        ...job,
        handler: (context) => {
          this.contexts.push({ ...context, instanceId: instance.id });
          return handler(context);
        },
      },
      port: instance.port,
      clock: instance.clock,
      leadership: instance.leadership,
      instanceId: instance.id,
      recordKey: jobRecordKey(ELECTION_KEY, name),
      requestTimeoutMs: 500,
      logger: instance.logs,
      onEvent: (event) => this.events.push(event),
      clockOffset: new ClockOffset(),
    });
    instance.runner = runner;
    runner.start();
    return runner;
  }

  /** Moves the virtual clock to wall time `wall`. */
  async until(wall: number): Promise<void> {
    await this.clock.advance(Math.max(0, wall - this.clock.wallNow()));
  }

  record(name = 'report'): JobRecord | null {
    const entry = this.model.entryOf(jobRecordKey(ELECTION_KEY, name));
    if (!entry?.Value) return null;
    return decodeJobRecord('record', Buffer.from(entry.Value, 'base64').toString());
  }

  /** The fires started, as (fire time in seconds after T0, instance, token, attempt). */
  started(): Array<{ fire: number; by: string; token: number; attempt: number }> {
    return this.events.flatMap((event) =>
      event.kind === 'started'
        ? [
            {
              fire: (event.fireTime - T0) / 1_000,
              by: event.instanceId,
              token: event.token,
              attempt: event.attempt,
            },
          ]
        : [],
    );
  }

  skipped(): Array<{ fire: number | null; reason: string; count: number }> {
    return this.events.flatMap((event) =>
      event.kind === 'skipped'
        ? [
            {
              fire: event.fireTime === null ? null : (event.fireTime - T0) / 1_000,
              reason: event.reason,
              count: event.count,
            },
          ]
        : [],
    );
  }

  async dispose(): Promise<void> {
    this.blocker.releaseAll();
    for (const instance of this.instances) instance.link.releaseHeld();
    await Promise.all(this.instances.map((instance) => instance.runner?.stop()));
    this.model.dispose();
  }
}
