import { randomBytes } from 'node:crypto';
import { Backoff } from '../time/backoff';
import { CandidateSession } from './candidate-session';
import { ConsulRequestError, classify } from '../consul/consul-request.error';
import type { ElectionContext } from '../protocol/election-context';
import { ElectionMessages } from '../election.messages';
import { SerialQueue } from '../time/serial-queue';

/** What the candidacy needs of the election. */
export interface CandidacyHost extends ElectionContext {
  running(): boolean;
  /** A session is open: a campaign may start. */
  onSessionReady(): void;
  /** The session is gone or replaced: a hold made with it has ended. */
  onSessionGone(session: CandidateSession): void;
}

/**
 * This instance's candidacy: its Consul session (candidate-session.ts), opened up front so that taking
 * a free key costs one request, kept across terms, replaced when Consul loses it, and given up at
 * stop. The opening and the releases made with the session run one at a time on {@link queue}.
 */
export class Candidacy {
  /** The session's serial queue: its opening and the releases made with it. */
  readonly queue = new SerialQueue();
  /**
   * This candidacy's service in the agent's catalog: the instance id plus a per-process suffix, so
   * two processes given one instanceId never share (and keep passing) one check.
   */
  private readonly serviceId: string | null;
  /** Set once the agent that answers proves not to be the check's: sessions then carry no check. */
  noLocalAgent = false;
  /** How often a check update found the check unknown while its session lived (see onNoLocalAgent). */
  private checkUnknownCount = 0;
  private current: CandidateSession | null = null;
  private openingSession = false;
  private readonly sessionBackoff: Backoff;

  constructor(private readonly host: CandidacyHost) {
    const { healthCheck, retry } = host.options;
    this.serviceId = healthCheck
      ? `${healthCheck.serviceName}-${host.instanceId}-${randomBytes(3).toString('hex')}`
      : null;
    this.sessionBackoff = Backoff.forRetries(retry);
  }

  /** The open session, or null while there is none. */
  get session(): CandidateSession | null {
    return this.current;
  }

  /** At stop: the session to give up, which the candidacy no longer keeps. */
  take(): CandidateSession | null {
    const session = this.current;
    this.current = null;
    return session;
  }

  /** The candidacy's session, opened once and reused across terms until Consul loses it or we stop. */
  private ensureSession(): Promise<CandidateSession> {
    return this.queue.run(async () => {
      if (this.current) return this.current;
      if (!this.host.running()) throw new Error(ElectionMessages.notRunning(this.host.options.key));
      const session = await CandidateSession.open(
        this.host.port,
        this.host.options,
        this.host.clock,
        {
          onLost: (lost) => this.lost(lost),
          onNoLocalAgent: (closed) => this.onNoLocalAgent(closed),
          onSuccess: (path) =>
            this.host.problems.reportSuccess(path === 'agent' ? 'check' : 'renew'),
          onProblem: (path, error) =>
            this.host.problems.reportProblem(path === 'agent' ? 'check' : 'renew', error),
        },
        this.noLocalAgent ? null : this.serviceId,
      );
      if (!this.host.running()) {
        await session.destroy(this.host.options.requestTimeoutMs).catch(() => undefined);
        throw new Error(ElectionMessages.stoppedWhileOpening(this.host.options.key));
      }
      this.current = session;
      this.host.logger.debug?.(ElectionMessages.sessionOpened(this.host.options.key, session.id));
      return session;
    });
  }

  /** Opens the session now, and again after Consul loses it, retrying with backoff. */
  keep(): void {
    if (!this.host.running() || this.current || this.openingSession) return;
    this.openingSession = true;
    this.ensureSession().then(
      () => {
        this.openingSession = false;
        this.sessionBackoff.reset();
        this.host.problems.reportSuccess('session');
        this.host.onSessionReady();
      },
      (error: unknown) => {
        this.openingSession = false;
        if (!this.host.running()) return;
        // Once: after the fallback, sessions carry no check, so "unknown to the agent" again is no
        // missing agent, and opening again at once would loop without pause.
        if (
          error instanceof ConsulRequestError &&
          error.kind === 'no-local-agent' &&
          !this.noLocalAgent
        ) {
          this.fallBackToSessionTtl();
          this.host.timers.later(() => this.keep(), 0);
          return;
        }
        this.host.problems.reportProblem('session', classify(error, 'session create'));
        this.host.timers.later(() => this.keep(), this.sessionBackoff.nextAfter(error));
      },
    );
  }

  /**
   * A check update found the check unknown while its session lives: the session would be
   * invalidated once the check's TTL runs out, so it is replaced now (a leader steps down and
   * destroys it: the key is then free after lock-delay, as after a crash). The first time, it is
   * replaced by one bound to a check registered anew: a client agent that restarted without its
   * state forgets the check before Consul invalidates the session. The second time, the requests
   * evidently reach other agents than the check's, and the new session goes without a check
   * (see {@link fallBackToSessionTtl}).
   */
  private onNoLocalAgent(session: CandidateSession): void {
    if (this.current !== session) return;
    this.checkUnknownCount += 1;
    const fallBack = this.checkUnknownCount >= 2;
    if (fallBack) this.fallBackToSessionTtl();
    else this.host.logger.warn(ElectionMessages.checkUnknown(this.host.options.key, session.id));
    this.host.onSessionGone(session);
    this.current = null;
    // After a fallback sessions carry no check and no service: the old service goes too. Otherwise
    // the next opening registers the same service again with its check; deregistering it here would
    // race that registration and, landing after it, remove the new check, whose next update then
    // answers "unknown" as well: the candidate would fall back for good. Kept, the service also
    // keeps its place (CreateIndex) in the succession order.
    void session
      .destroy(this.host.options.requestTimeoutMs, { keepService: !fallBack })
      .catch(() => undefined);
    this.keep();
  }

  /**
   * Without a local agent (Consul Dataplane, or servers behind a load balancer) a check registered
   * through one agent is unknown to the next, so the session cannot be bound to it: from now on
   * sessions carry no check, crash detection falls back to the session TTL, and the succession
   * order (read from the check's service) is not kept. Said once in the log and kept in the state.
   */
  private fallBackToSessionTtl(): void {
    if (this.noLocalAgent) return;
    this.noLocalAgent = true;
    this.host.problems.reportProblem(
      'check',
      new ConsulRequestError('no-local-agent', 'check update', ElectionMessages.noLocalAgentShort),
    );
  }

  /**
   * Gives up `session` by destroying it, for a hold Consul refused to release for want of key rights
   * (a 403: nothing was carried out, and Consul keeps the key for as long as the session lives,
   * which its renewals and check updates, still allowed, keep alive for ever). Destroying it is a
   * right the token still has, and always safe: Consul frees the key under lock-delay, and our term
   * ended at our deadline, which lies before the successor's wait for an unreleased key is over.
   * Resolves true once Consul destroyed it (a new session is then opened); false when that failed
   * too (the caller retries with its backoff). The service and its check stay: the next session
   * binds to them again, keeping this instance's place in the succession order.
   */
  async giveUp(
    session: CandidateSession,
    refused: ConsulRequestError,
    /** What to log once destroyed: by default, that the key could not be released. */
    say: (
      key: string,
      sessionId: string,
      detail: string,
    ) => string = ElectionMessages.releaseForbiddenSessionDestroyed,
  ): Promise<boolean> {
    if (this.current !== session) return true;
    const { key, requestTimeoutMs } = this.host.options;
    try {
      await this.host.port.destroySession(session.id, requestTimeoutMs);
    } catch {
      // Denied too (no session rights) or unanswered: its renewals and check updates, refused
      // alike, let Consul invalidate the session by itself; the release is retried meanwhile.
      return false;
    }
    this.host.logger.error(say(key, session.id, refused.message));
    if (this.current !== session) return true;
    this.host.onSessionGone(session);
    session.close();
    this.current = null;
    this.keep();
    return true;
  }

  /** Consul lost the session (renew 404, its check gone, or the key freed with our value): open a new one. */
  lost(session: CandidateSession): void {
    if (this.current !== session) return;
    this.host.logger.warn(ElectionMessages.sessionLost(this.host.options.key, session.id));
    this.host.onSessionGone(session);
    // Its renewals and check updates have nothing left to keep alive (the check stays, for the next).
    session.close();
    this.current = null;
    this.keep();
  }
}
