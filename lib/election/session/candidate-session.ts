import { Backoff } from '../time/backoff';
import type { Clock, TimerHandle } from '../time/clock';
import type { ConsulPort } from '../consul/consul-port';
import { ConsulRequestError, classify, isUnknownToAgent } from '../consul/consul-request.error';
import {
  checkDefinition,
  registerCandidate,
  unlessUnknownToAgent,
  type CheckMode,
} from './candidate-registration';
import type { ResolvedElectionOptions } from '../options/election-options';

/** Which part of Consul answered an upkeep request. */
export type UpkeepPath = 'agent' | 'server';

export type { CheckMode } from './candidate-registration';

export interface CandidateSessionEvents {
  /** Consul no longer knows the session (renew 404, check gone): whatever it held is gone. */
  onLost(session: CandidateSession): void;
  /**
   * The check is unknown to the agent that answered while the session bound to it lives: the
   * requests reach another agent than the one the check was registered with (no local agent).
   * The session is closed (no more upkeep); the election replaces it.
   */
  onNoLocalAgent(session: CandidateSession): void;
  /** `agent`: the check, answered by the local agent alone; `server`: the session renewal. */
  onSuccess(path: UpkeepPath): void;
  onProblem(path: UpkeepPath, error: ConsulRequestError): void;
}

/**
 * This instance's Consul session and, by default, the per-instance service and TTL check it is bound
 * to. The session lives as long as the candidacy, so that taking the key costs one request.
 *
 * The check's TTL follows the role: `standbyTtl` while following (an update every `standbyTtl / 2`
 * keeps a follower nearly silent), `ttl` while leading (a crashed leader's session is invalidated
 * about `ttl` after its last update). Re-registering the check with a new TTL keeps it passing and
 * keeps the session bound to it.
 */
export class CandidateSession {
  private mode: CheckMode = 'standby';
  private registeredMode: CheckMode = 'standby';
  private checkTimer: TimerHandle | null = null;
  private renewTimer: TimerHandle | null = null;
  private closed = false;

  private constructor(
    readonly id: string,
    readonly serviceId: string | null,
    readonly checkId: string | null,
    private readonly port: ConsulPort,
    private readonly options: ResolvedElectionOptions,
    private readonly clock: Clock,
    private readonly events: CandidateSessionEvents,
  ) {
    this.renewBackoff = Backoff.forRetries(options.retry);
  }

  /** Registers the service and its check (passing, so a session can bind to it), then creates the session. */
  static async open(
    port: ConsulPort,
    options: ResolvedElectionOptions,
    clock: Clock,
    events: CandidateSessionEvents,
    /** This candidacy's service id (unique per process, see LeaderElection), or null without a check. */
    serviceId: string | null,
  ): Promise<CandidateSession> {
    const { key, healthCheck, requestTimeoutMs, instanceId } = options;
    const checkId = healthCheck && serviceId ? `${serviceId}:alive` : null;
    try {
      if (healthCheck && serviceId && checkId)
        await registerCandidate(port, options, serviceId, checkId);
      const id = await unlessUnknownToAgent('session create', () =>
        port.createSession(
          {
            name: `${key}#${instanceId}`,
            ttlMs: options.sessionTtlMs,
            lockDelayMs: options.lockDelayMs,
            checks: checkId ? [checkId] : [],
          },
          requestTimeoutMs,
        ),
      );
      const session = new CandidateSession(
        id,
        checkId ? serviceId : null,
        checkId,
        port,
        options,
        clock,
        events,
      );
      session.scheduleRenew();
      session.scheduleCheck();
      return session;
    } catch (error) {
      // A half-registered candidate would stand in the succession order as a passing ghost.
      if (checkId && serviceId)
        await port.deregisterService(serviceId, requestTimeoutMs).catch(() => undefined);
      throw error;
    }
  }

  /** Switches the check's TTL; the switch happens at once and is retried with the next update if it fails. */
  setMode(mode: CheckMode): void {
    if (this.closed || this.mode === mode) return;
    this.mode = mode;
    this.scheduleCheck(0);
  }

  /** Stops the timers; the session itself stays in Consul until {@link destroy} or its TTL. */
  close(): void {
    this.closed = true;
    if (this.checkTimer) this.clock.clearTimer(this.checkTimer);
    if (this.renewTimer) this.clock.clearTimer(this.renewTimer);
    this.checkTimer = this.renewTimer = null;
  }

  /**
   * Destroys the session (invalidating it: lock-delay applies to keys it still holds) and removes the
   * service, unless `keepService`: the next session registers the same service again, and a
   * deregistration landing after that registration would remove the new check.
   */
  async destroy(timeoutMs: number, { keepService = false } = {}): Promise<void> {
    this.close();
    try {
      await this.port.destroySession(this.id, timeoutMs);
    } finally {
      // Deregistered even when the destroy failed: a dead candidate must not stay in the order.
      if (this.serviceId && !keepService)
        await this.port.deregisterService(this.serviceId, timeoutMs);
    }
  }

  private readonly renewBackoff: Backoff;

  /**
   * Asks Consul now whether it still knows the session: a renewal, which the servers answer without
   * a Raft commit, so it is answered in time when slow commits make every write time out. 'lost'
   * once Consul said no (the candidacy is told, as at a scheduled renewal); a failure is thrown.
   */
  async verify(): Promise<'live' | 'lost'> {
    const outcome = await this.renew();
    if (outcome === 'not-found') {
      this.lose();
      return 'lost';
    }
    if (outcome instanceof ConsulRequestError) throw outcome;
    // Renewed: the TTL counts from now, and so does the next scheduled renewal.
    if (!this.closed) {
      if (this.renewTimer) this.clock.clearTimer(this.renewTimer);
      this.renewBackoff.reset();
      this.scheduleRenew();
    }
    return 'live';
  }

  private scheduleRenew(delayMs = this.options.sessionTtlMs / 2): void {
    this.renewTimer = this.clock.setTimer(async () => {
      this.renewTimer = null;
      const outcome = await this.renew();
      if (outcome === 'not-found') return this.lose();
      // Consul keeps a session only sessionTtl past its last renewal: a failed renewal waiting a
      // whole half-TTL again leaves the next one at (or past, with a late timer) the expiry.
      // Retried with the capped backoff (a 403 waits the longest), never later than the usual half-TTL.
      const failed = outcome instanceof ConsulRequestError;
      if (!failed) this.renewBackoff.reset();
      // A verify() answered while this renewal was on its way scheduled the next one already: a
      // second timer here would start a second renewal chain (and close() clears only one).
      if (!this.closed && !this.renewTimer)
        this.scheduleRenew(
          failed
            ? Math.min(this.options.sessionTtlMs / 2, this.renewBackoff.nextAfter(outcome))
            : undefined,
        );
    }, delayMs);
  }

  private scheduleCheck(delayMs?: number): void {
    const healthCheck = this.options.healthCheck;
    if (!healthCheck || !this.serviceId || !this.checkId || this.closed) return;
    if (this.checkTimer) this.clock.clearTimer(this.checkTimer);
    const ttlMs = this.registeredMode === 'leading' ? healthCheck.ttlMs : healthCheck.standbyTtlMs;
    const serviceId = this.serviceId;
    const checkId = this.checkId;
    this.checkTimer = this.clock.setTimer(
      async () => {
        this.checkTimer = null;
        const mode = this.mode;
        const outcome =
          mode !== this.registeredMode
            ? await this.attempt('agent', async () => {
                try {
                  await this.port.registerTtlCheck(
                    checkDefinition(this.options, serviceId, checkId, mode),
                    this.options.requestTimeoutMs,
                  );
                } catch (error) {
                  if (isUnknownToAgent(error)) return 'not-found' as const;
                  throw error;
                }
                this.registeredMode = mode;
                return 'passed' as const;
              })
            : await this.attempt('agent', () =>
                this.port.passCheck(checkId, this.options.requestTimeoutMs),
              );
        if (outcome === 'not-found') return this.onCheckUnknown();
        if (this.closed) return;
        // A failed update is retried at a quarter of the TTL, twice the regular cadence: the TTL
        // leaves room for three tries, and an agent answering errors is asked at most 4 times a
        // second (the smallest TTL is 1 s), never in a loop paced by retry.initialDelay.
        // A registration whose answer never came may have put its own TTL in force while
        // registeredMode still names the old one: the shorter of the two paces the retry.
        const triedMs = mode === 'leading' ? healthCheck.ttlMs : healthCheck.standbyTtlMs;
        this.scheduleCheck(
          outcome instanceof ConsulRequestError ? Math.min(ttlMs, triedMs) / 4 : undefined,
        );
      },
      delayMs ?? (this.mode !== this.registeredMode ? 0 : ttlMs / 2),
    );
  }

  /** One renewal, its outcome reported: the scheduled one, verify()'s, and the check's question. */
  private renew(): Promise<'renewed' | 'not-found' | ConsulRequestError> {
    return this.attempt('server', () =>
      this.port.renewSession(this.id, this.options.requestTimeoutMs),
    );
  }

  /** One upkeep request, its outcome reported; a failure comes back as its error (for the backoff). */
  private async attempt<T extends string>(
    path: UpkeepPath,
    request: () => Promise<T>,
  ): Promise<T | ConsulRequestError> {
    try {
      const outcome = await request();
      if (!this.closed) this.events.onSuccess(path);
      return outcome;
    } catch (error) {
      const failure =
        error instanceof ConsulRequestError ? error : classify(error, 'session upkeep');
      if (!this.closed) this.events.onProblem(path, failure);
      return failure;
    }
  }

  /**
   * An agent said it does not know our check. Either the check is gone (the agent restarted without
   * it: Consul then invalidated the session bound to it) or another agent answered: the session
   * tells which.
   */
  private async onCheckUnknown(): Promise<void> {
    const session = await this.renew();
    if (this.closed) return;
    if (session === 'not-found') return this.lose();
    // Asked again with the renewal's backoff (no sooner than 250 ms, SAFETY.md "Load"): each try
    // is a check update and a renewal, and retry.initialDelay alone let a Consul whose renewals
    // answer 500 take 40 a second from this loop (simulator seed 375).
    if (session instanceof ConsulRequestError)
      return this.scheduleCheck(this.renewBackoff.nextAfter(session));
    this.close();
    this.events.onNoLocalAgent(this);
  }

  private lose(): void {
    if (this.closed) return;
    this.close();
    // Destroy it too, best effort: if the verdict was wrong (the session still lives) it must not
    // keep holding the key for up to 2 × sessionTtl while a new session takes its place. A session
    // that is really gone answers 404, which changes nothing.
    this.port.destroySession(this.id, this.options.requestTimeoutMs).catch(() => undefined);
    this.events.onLost(this);
  }
}
