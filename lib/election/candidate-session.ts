import type { Clock, TimerHandle } from './clock';
import type { ConsulPort } from './consul-port';
import { ConsulRequestError } from './consul-request.error';
import type { ResolvedElectionOptions } from './election-options';
import { classify } from './node-consul.port';

/** Which part of Consul answered an upkeep request. */
export type UpkeepPath = 'agent' | 'server';

/** How fast Consul should notice this instance die: slowly while it waits, quickly while it leads. */
export type CheckMode = 'standby' | 'leading';

export interface CandidateSessionEvents {
  /** Consul no longer knows the session (renew 404, check gone): whatever it held is gone. */
  onLost(session: CandidateSession): void;
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
  ) {}

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
      if (healthCheck && serviceId && checkId) {
        await port.registerService(
          {
            id: serviceId,
            name: healthCheck.serviceName,
            meta: { 'leader-key': key, 'instance-id': instanceId },
          },
          requestTimeoutMs,
        );
        await port.registerTtlCheck(
          checkDefinition(options, serviceId, checkId, 'standby'),
          requestTimeoutMs,
        );
        // A re-registered TTL check gets back the state the agent persisted for it (critical after a
        // partition) whatever status the registration asks for; only an update makes it pass, and a
        // session can only bind to a passing check.
        await port.passCheck(checkId, requestTimeoutMs);
      }
      const id = await port.createSession(
        {
          name: `${key}#${instanceId}`,
          ttlMs: options.sessionTtlMs,
          lockDelayMs: options.lockDelayMs,
          checks: checkId ? [checkId] : [],
        },
        requestTimeoutMs,
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

  /** Destroys the session (invalidating it: lock-delay applies to keys it still holds) and removes the service. */
  async destroy(timeoutMs: number): Promise<void> {
    this.close();
    await this.port.destroySession(this.id, timeoutMs);
    if (this.serviceId) await this.port.deregisterService(this.serviceId, timeoutMs);
  }

  private scheduleRenew(): void {
    this.renewTimer = this.clock.setTimer(async () => {
      this.renewTimer = null;
      const outcome = await this.attempt('server', () =>
        this.port.renewSession(this.id, this.options.requestTimeoutMs),
      );
      if (outcome === 'not-found') return this.lose();
      if (!this.closed) this.scheduleRenew();
    }, this.options.sessionTtlMs / 2);
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
                await this.port.registerTtlCheck(
                  checkDefinition(this.options, serviceId, checkId, mode),
                  this.options.requestTimeoutMs,
                );
                this.registeredMode = mode;
                return 'passed' as const;
              })
            : await this.attempt('agent', () =>
                this.port.passCheck(checkId, this.options.requestTimeoutMs),
              );
        if (outcome === 'not-found') return this.lose();
        // A failed update is retried sooner than the regular cadence: the TTL leaves room for it.
        if (!this.closed)
          this.scheduleCheck(
            outcome === 'failed'
              ? Math.min(this.options.retry.initialDelayMs, ttlMs / 4)
              : undefined,
          );
      },
      delayMs ?? (this.mode !== this.registeredMode ? 0 : ttlMs / 2),
    );
  }

  private async attempt<T extends string>(
    path: UpkeepPath,
    request: () => Promise<T>,
  ): Promise<T | 'failed'> {
    try {
      const outcome = await request();
      if (!this.closed) this.events.onSuccess(path);
      return outcome;
    } catch (error) {
      if (!this.closed)
        this.events.onProblem(
          path,
          error instanceof ConsulRequestError ? error : classify(error, 'session upkeep'),
        );
      return 'failed';
    }
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

function checkDefinition(
  options: ResolvedElectionOptions,
  serviceId: string,
  checkId: string,
  mode: CheckMode,
) {
  const healthCheck = options.healthCheck!;
  return {
    id: checkId,
    name: `leader candidate for ${options.key}`,
    serviceId,
    ttlMs: mode === 'leading' ? healthCheck.ttlMs : healthCheck.standbyTtlMs,
    deregisterCriticalServiceAfterMs: healthCheck.deregisterCriticalServiceAfterMs,
  };
}
