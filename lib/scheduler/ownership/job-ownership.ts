import type { ConsulKeyPort, ConsulTxnPort, TxnEntry } from '../../election/consul/consul-port';
import type { ElectionLogger } from '../../election/options/election-options';
import { instantOf, type Instant } from '../../election/protocol/lease';
import { decodeLeaderValue, encodeLeaderValue } from '../../election/protocol/leader-value';
import {
  actTime,
  leaseWaitMs,
  mayClaimReleased,
  vacancyOf,
} from '../../election/protocol/takeover';
import type { Clock, TimerHandle } from '../../election/time/clock';
import { JobLeadership } from './job-leadership';
import { OwnerHold } from './owner-hold';
import { jobOfOwnerKey, ownerKey, ownersPrefix } from './owner-keys';
import { nextHandover, turnToTake } from './owner-turns';

/** What ownership needs of Consul: the owners read, and the election's acquire and release. */
export type OwnershipPort = Pick<ConsulKeyPort, 'acquire' | 'release'> &
  Pick<ConsulTxnPort, 'readTree'>;

/** Every timing of the loop (docs/design/job-spread.md); all in ms. */
export interface JobOwnershipOptions {
  readonly electionKey: string;
  readonly instanceId: string;
  /** The spread jobs' names, the same on every instance. */
  readonly jobs: readonly string[];
  /** D: an owner acts on a job only until D after the send time of the last read showing its hold. */
  readonly leaseMs: number;
  /** One owners read per interval (< D − requestTimeout, as the election's renewal). */
  readonly renewIntervalMs: number;
  readonly requestTimeoutMs: number;
  /** The session's lock-delay (≥ D): a key freed by an invalidation cannot be taken before it ends. */
  readonly lockDelayMs: number;
  /** The k-th taker in a freed job's order tries k steps after the first (≥ interval + timeout). */
  readonly successionStepMs: number;
  /** Jobs move to their preferred owner only once the membership stayed the same this long. */
  readonly settleMs: number;
  /** The longest lease among the instances (their `lease-ms`), waited out when a vacancy is unknown. */
  readonly longestPeerLeaseMs?: () => number;
}

export interface JobOwnershipContext {
  readonly port: OwnershipPort;
  readonly clock: Clock;
  readonly options: JobOwnershipOptions;
  /** This instance's candidate session (its id), or null while it has none. */
  readonly session: () => string | null;
  /** The live instances (passing checks, from the candidates' catalog read), or null before it is read. */
  readonly membership: () => readonly string[] | null;
  /** Whether a fire of the job runs (or is being claimed) here: a handover waits until it is not. */
  readonly isBusy: (job: string) => boolean;
  readonly logger: ElectionLogger;
  /** Moves, for metrics and specs. */
  readonly onEvent?: (event: OwnershipEvent) => void;
}

export type OwnershipEvent =
  | { readonly kind: 'acquired' | 'acting' | 'released'; readonly job: string }
  | { readonly kind: 'lost'; readonly job: string; readonly reason: string };

/**
 * Per-job ownership on one session per instance (docs/design/job-spread.md). One loop per instance:
 * every `renewIntervalMs` ONE consistent read of the owners prefix (a tree read) confirms the lease
 * of every job this instance owns, shows which owner keys are free, and who owns the rest, whatever
 * the number of jobs. Free keys are taken in each job's takeover order, one succession step per
 * rank; a taker acts only after the previous owner's lease (protocol/takeover.ts). Once the
 * membership settled, a job owned here but assigned elsewhere is handed over between fires, one at
 * a time.
 */
export class JobOwnership {
  private readonly leaderships = new Map<string, JobLeadership>();
  private readonly holds = new Map<string, OwnerHold>();
  /** Per free key (`job@ModifyIndex`), when it was first seen free; only those free at the last read. */
  private readonly freeSeen = new Map<string, number>();
  /** Acquires and releases on their way: the read answered meanwhile cannot tell about them. */
  private readonly pending = new Set<string>();
  private session: string | null = null;
  private members: string = '';
  private membersSince = 0;
  private timer: TimerHandle | null = null;
  private readonly actTimers = new Map<string, TimerHandle>();
  private stopped = false;

  constructor(private readonly ctx: JobOwnershipContext) {
    for (const job of ctx.options.jobs)
      this.leaderships.set(job, new JobLeadership(job, ctx.clock));
  }

  /** The job's Leadership, for its JobRunner. */
  leadershipOf(job: string): JobLeadership {
    const leadership = this.leaderships.get(job);
    if (!leadership) throw new Error(`job "${job}" is not one of the spread jobs`);
    return leadership;
  }

  /** The jobs this instance holds the owner key of (acting on them or not). */
  ownedJobs(): string[] {
    return [...this.holds.keys()].sort();
  }

  start(): void {
    this.schedule(0);
  }

  /** Stops the loop, ending every Lead; with `release`, hands every job back between fires first. */
  async stop({ release = true } = {}): Promise<void> {
    if (this.timer) this.ctx.clock.clearTimer(this.timer);
    this.stopped = true;
    for (const timer of this.actTimers.values()) this.ctx.clock.clearTimer(timer);
    for (const hold of this.holds.values()) this.handOver(hold);
    if (!release) {
      this.holds.clear();
      return;
    }
    await Promise.all([...this.holds.values()].map((hold) => this.releaseWhenIdle(hold)));
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = this.ctx.clock.setTimer(() => void this.round(), delayMs);
  }

  private async round(): Promise<void> {
    const { clock, options } = this.ctx;
    const sent = instantOf(clock);
    const next = (): void =>
      this.schedule(Math.max(0, sent.mono + options.renewIntervalMs - clock.now()));
    const session = this.ctx.session();
    if (session !== this.session) {
      // Keys held by the old session are gone with it (or will be): no Lead may outlive it.
      for (const hold of [...this.holds.values()]) this.lose(hold, 'the session was replaced');
      this.session = session;
    }
    if (!session) return next();
    let entries: readonly TxnEntry[];
    try {
      entries = await this.ctx.port.readTree(
        ownersPrefix(options.electionKey),
        options.requestTimeoutMs,
      );
    } catch {
      // Unconfirmed: each Lead ends at its lease's deadline unless a later read confirms it.
      return next();
    }
    if (this.stopped || this.session !== session) return;
    this.observe(session, sent, clock.now(), entries);
    next();
  }

  private observe(
    session: string,
    sent: Instant,
    answeredAt: number,
    entries: readonly TxnEntry[],
  ): void {
    const { options } = this.ctx;
    const byJob = new Map<string, TxnEntry>();
    for (const entry of entries) {
      const job = jobOfOwnerKey(options.electionKey, entry.key);
      if (job && this.leaderships.has(job)) byJob.set(job, entry);
    }
    for (const hold of [...this.holds.values()]) {
      if (!hold.judgedBy(sent.mono) || this.pending.has(hold.job)) continue;
      const entry = byJob.get(hold.job);
      if (entry && hold.shownBy(entry)) {
        hold.lease.confirm(sent);
        this.leaderships.get(hold.job)!.extended();
      } else this.lose(hold, 'its owner key is no longer held by this session');
    }
    const owners = new Map<string, string>();
    for (const [job, entry] of byJob) {
      if (!entry.session) continue;
      const holder = decodeLeaderValue(entry.value)?.instanceId;
      if (holder) owners.set(job, holder);
      // Ours without a hold: an acquire whose answer was lost went through. Adopted, acting only a
      // whole wait after this read (how the key was free is no longer known).
      if (entry.session === session && !this.holds.has(job) && !this.pending.has(job))
        this.adopt(job, entry, sent, answeredAt);
    }
    const members = [...new Set(this.ctx.membership() ?? [])].sort();
    if (members.join('\n') !== this.members) {
      this.members = members.join('\n');
      this.membersSince = answeredAt;
    }
    // Free keys are taken only once the membership is known: every instance ranks itself in the
    // same order, instead of all trying every key at first start.
    const seen = new Map(this.freeSeen);
    this.freeSeen.clear();
    for (const job of this.ctx.membership() ? options.jobs : []) {
      const entry = byJob.get(job) ?? null;
      if (entry?.session || this.holds.has(job) || this.pending.has(job)) continue;
      this.considerFree(job, entry, members, owners, answeredAt, seen);
    }
    if (answeredAt - this.membersSince >= options.settleMs) this.rebalance(members, owners);
    for (const hold of this.holds.values())
      if (hold.phase === 'handing-over') void this.releaseWhenIdle(hold);
  }

  /** A free owner key: tried by this instance when its rank's turn came (no herd). */
  private considerFree(
    job: string,
    entry: TxnEntry | null,
    members: readonly string[],
    owners: ReadonlyMap<string, string>,
    answeredAt: number,
    seenBefore: ReadonlyMap<string, number>,
  ): void {
    const { options } = this.ctx;
    const seenKey = `${job}@${entry?.modifyIndex ?? 0}`;
    const seenAt = seenBefore.get(seenKey) ?? answeredAt;
    this.freeSeen.set(seenKey, seenAt);
    // A key never held (first start, a new job) waits for a settled membership: taken by whoever is
    // first to start, every one of them would move again, one by one, once the others show up.
    if (!entry && answeredAt - this.membersSince < options.settleMs) return;
    const turn = turnToTake({
      job,
      entry,
      jobs: options.jobs,
      members,
      owners,
      instanceId: options.instanceId,
      seenAt,
      lockDelayMs: options.lockDelayMs,
      successionStepMs: options.successionStepMs,
    });
    if (answeredAt < turn.tryAt) return;
    void this.take(job, entry, seenAt, turn.passedOver);
  }

  private async take(
    job: string,
    entry: TxnEntry | null,
    freeSeenAt: number,
    /** The instance whose turn it was, when this one takes the job out of turn. */
    passedOver: string | undefined,
  ): Promise<void> {
    const { clock, options, port } = this.ctx;
    const session = this.session!;
    const key = ownerKey(options.electionKey, job);
    const found = decodeLeaderValue(entry?.value ?? null);
    const waitMs = leaseWaitMs(options.leaseMs, Math.max(found?.leaseMs ?? 0, this.peerLeaseMs()));
    const before = found?.metadata as { passedOver?: unknown; passes?: unknown } | undefined;
    const passes =
      passedOver && before?.passedOver === passedOver && typeof before.passes === 'number'
        ? before.passes + 1
        : 1;
    const metadata = passedOver ? { passedOver, passes } : {};
    this.pending.add(job);
    const sent = instantOf(clock);
    try {
      const result = await port.acquire(
        {
          key,
          sessionId: session,
          value: encodeLeaderValue({
            instanceId: options.instanceId,
            metadata,
            since: new Date(clock.wallNow()).toISOString(),
            leaseMs: Math.max(options.leaseMs, waitMs),
          }),
          expectedModifyIndex: entry?.modifyIndex ?? 0,
        },
        options.requestTimeoutMs,
      );
      if (!result.acquired || this.stopped || this.session !== session) return;
      const answeredAt = clock.now();
      const vacancy = vacancyOf(entry);
      const actFrom = actTime({ vacancy, sentAt: sent.mono, answeredAt, freeSeenAt, waitMs });
      const hold = new OwnerHold(
        job,
        key,
        session,
        result.lockIndex,
        result.modifyIndex,
        vacancy,
        actFrom,
        answeredAt,
        options.leaseMs,
        sent,
      );
      if (passedOver) hold.passedOver = { by: passedOver, passes, at: answeredAt };
      this.begin(hold);
    } catch {
      // Not known whether it went through: the next read shows it (adopted then) or not.
    } finally {
      this.pending.delete(job);
    }
  }

  private adopt(job: string, entry: TxnEntry, sent: Instant, answeredAt: number): void {
    const { options } = this.ctx;
    const waitMs = leaseWaitMs(options.leaseMs, this.peerLeaseMs());
    const key = ownerKey(options.electionKey, job);
    const hold = new OwnerHold(
      job,
      key,
      entry.session!,
      entry.lockIndex,
      entry.modifyIndex,
      'absent',
      answeredAt + waitMs,
      answeredAt,
      options.leaseMs,
      sent,
    );
    this.begin(hold);
  }

  /** Records the hold and gives its Lead at its act time, if the lease is still valid then. */
  private begin(hold: OwnerHold): void {
    const { clock } = this.ctx;
    this.holds.set(hold.job, hold);
    this.ctx.onEvent?.({ kind: 'acquired', job: hold.job });
    const act = (): void => {
      this.actTimers.delete(hold.job);
      if (this.holds.get(hold.job) !== hold || hold.phase !== 'waiting') return;
      if (!hold.lease.isValidAt(clock.now(), clock.wallNow())) return; // a later read re-judges it
      hold.phase = 'acting';
      this.leaderships.get(hold.job)!.begin(hold);
      this.ctx.onEvent?.({ kind: 'acting', job: hold.job });
    };
    const delay = hold.actFrom - clock.now();
    if (delay <= 0) return act();
    this.actTimers.set(hold.job, clock.setTimer(act, delay));
  }

  /** Hands one job over once the membership settled (owner-turns.ts, nextHandover). */
  private rebalance(members: readonly string[], owners: ReadonlyMap<string, string>): void {
    const { options } = this.ctx;
    const hold = nextHandover({
      holds: [...this.holds.values()],
      members,
      jobs: options.jobs,
      owners,
      instanceId: options.instanceId,
      now: this.ctx.clock.now(),
      settleMs: options.settleMs,
    });
    if (hold) this.handOver(hold);
  }

  /** Stops acting on the job at once; the key is released between fires (releaseWhenIdle). */
  private handOver(hold: OwnerHold): void {
    if (hold.phase === 'handing-over') return;
    const timer = this.actTimers.get(hold.job);
    if (timer) this.ctx.clock.clearTimer(timer);
    this.actTimers.delete(hold.job);
    hold.phase = 'handing-over';
    this.leaderships.get(hold.job)!.end('handed over');
  }

  /**
   * Releases a handed-over key once no fire of the job runs here. "Released" (the next owner acts at
   * once) only when this hold acted and its work is done, as the election's release
   * (protocol/takeover.ts, mayClaimReleased); else "handed back": the next owner waits out D.
   */
  private async releaseWhenIdle(hold: OwnerHold): Promise<void> {
    const { clock, options, port } = this.ctx;
    if (this.pending.has(hold.job) || this.ctx.isBusy(hold.job)) return;
    const released = mayClaimReleased({
      acted: hold.acted,
      workDrained: true,
      vacancy: hold.vacancy,
    });
    const now = new Date(clock.wallNow()).toISOString();
    this.pending.add(hold.job);
    try {
      const done = await port.release(
        {
          key: hold.key,
          sessionId: hold.sessionId,
          value: encodeLeaderValue({
            instanceId: options.instanceId,
            // Carried on, so that the next taker out of turn counts one more pass.
            metadata: hold.passedOver
              ? { passedOver: hold.passedOver.by, passes: hold.passedOver.passes }
              : {},
            since: now,
            leaseMs: options.leaseMs,
            ...(released ? { releasedAt: now, releasedBy: hold.sessionId } : { handedBackAt: now }),
          }),
          expectedModifyIndex: hold.modifyIndex,
        },
        options.requestTimeoutMs,
      );
      // False: no longer this hold (lost meanwhile); either way it is not ours any more.
      this.drop(hold, done ? 'released' : 'lost before its release');
    } catch {
      // Tried again after the next read, which tells whether it went through.
    } finally {
      this.pending.delete(hold.job);
    }
  }

  private lose(hold: OwnerHold, reason: string): void {
    this.drop(hold, reason);
    this.ctx.onEvent?.({ kind: 'lost', job: hold.job, reason });
  }

  private drop(hold: OwnerHold, reason: string): void {
    if (this.holds.get(hold.job) !== hold) return;
    this.holds.delete(hold.job);
    const timer = this.actTimers.get(hold.job);
    if (timer) this.ctx.clock.clearTimer(timer);
    this.actTimers.delete(hold.job);
    this.leaderships.get(hold.job)!.end(reason);
    if (reason === 'released') this.ctx.onEvent?.({ kind: 'released', job: hold.job });
  }

  private peerLeaseMs(): number {
    return this.ctx.options.longestPeerLeaseMs?.() ?? 0;
  }
}
