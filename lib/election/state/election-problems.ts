import { MISCONFIGURED_RETRY_MS } from '../time/backoff';
import type { Clock } from '../time/clock';
import type { ConsulRequestError } from '../consul/consul-request.error';
import type { ElectionLogger, ResolvedElectionOptions } from '../options/election-options';
import { ElectionMessages } from '../election.messages';
import type { ElectionProblem } from './leadership-state';
import type { PublishedLeader } from './published-leader';
import type { StatePublisher } from './state-publisher';

/** The loops that talk to Consul, each reporting its own problems. */
export type ProblemSource =
  | 'watch'
  | 'candidates'
  | 'session'
  | 'campaign'
  | 'confirm'
  | 'renew'
  | 'release'
  /** The check update, answered by the local agent alone. */
  | 'check'
  /** The leader's view of the candidates: hidden by ACL when it does not include the leader. */
  | 'succession';

/** How often the ERROR line of a misconfiguration is repeated while it lasts: seen, not flooding. */
export const MISCONFIGURED_LOG_INTERVAL_MS = 60_000;

/**
 * The failed requests of the election's loops, kept per source so that a key read that works does
 * not hide a session create that keeps failing; shown in the state and, once per change, in the log.
 */
export class ElectionProblems {
  private readonly problems = new Map<
    ProblemSource,
    { problem: ElectionProblem; transient: boolean }
  >();
  private lastLoggedProblem: string | null = null;
  /** The agent's node name, once a refused request could learn it: the ACL messages name it. */
  private node: string | null = null;
  private lastLoggedAt = 0;

  constructor(
    private readonly options: Pick<
      ResolvedElectionOptions,
      'key' | 'sessionTtlMs' | 'healthCheck' | 'consul'
    >,
    private readonly clock: Clock,
    private readonly logger: ElectionLogger,
    private readonly out: StatePublisher,
    /**
     * Failures start, and the servers' answers end, the count after which no leader is known; a
     * failed read of the key only an answer about the key.
     */
    private readonly leader: Pick<
      PublishedLeader,
      'requestFailed' | 'keyReadFailed' | 'serversAnswered' | 'keyAnswered'
    >,
  ) {}

  /**
   * A request succeeded: its own problem is over, and so is any network, timeout or 5xx problem —
   * Consul evidently answers (a loop that stopped, like the confirmations of a term that ended,
   * would otherwise leave its last timeout behind for good).
   */
  reportSuccess(source: ProblemSource): void {
    // A read of the key, or the holder's confirmation (a consistent read of it), says who holds it.
    if (source === 'watch' || source === 'confirm') this.leader.keyAnswered();
    else if (source !== 'check') this.leader.serversAnswered();
    let changed = this.problems.delete(source);
    // A release refused for rights ends its loop by destroying the session, so no release success
    // clears its problem: an acquire Consul answered (no campaign runs beside a release) shows the
    // token may write the key again.
    if (source === 'campaign') changed = this.problems.delete('release') || changed;
    // The local agent answering says nothing about the servers behind it.
    if (source !== 'check') {
      for (const [other, entry] of this.problems) {
        if (entry.transient && other !== 'check') changed = this.problems.delete(other) || changed;
      }
    }
    if (changed) this.publishProblems();
  }

  /**
   * The loop of `source` stopped (the confirmations of a term that ended): it will not retry, so a
   * misconfiguration it met would stand for good, unconfirmed, on an instance whose other loops all
   * work (health down, ERROR each minute). It ends with the loop; a real one meets the next term's
   * requests again. Other problems stay: transient ones end at the next success of any loop, and
   * a refusal (403) is said again by the loops that read or write the key.
   */
  loopStopped(source: ProblemSource): void {
    if (this.problems.get(source)?.problem.kind !== 'misconfigured') return;
    this.problems.delete(source);
    this.publishProblems();
  }

  /** Surfaces a failed request in the state (and in the log once per change, not per retry). */
  reportProblem(source: ProblemSource, error: ConsulRequestError): void {
    if (error.node) this.node = error.node;
    const problem: ElectionProblem =
      error.kind === 'forbidden'
        ? {
            kind: 'forbidden',
            message: ElectionMessages.forbidden({
              key: this.options.key,
              operation: error.operation,
              status: error.status,
              serviceName: this.options.healthCheck?.serviceName ?? null,
              node: this.node,
            }),
            ...(error.status !== undefined ? { status: error.status } : {}),
          }
        : error.kind === 'no-local-agent'
          ? {
              kind: 'no-local-agent',
              message: ElectionMessages.noLocalAgent(this.options.key, this.options.sessionTtlMs),
            }
          : error.kind === 'misconfigured'
            ? {
                kind: 'misconfigured',
                message: ElectionMessages.misconfigured(
                  this.options.key,
                  error.message,
                  this.fixFor(error),
                  MISCONFIGURED_RETRY_MS,
                ),
                ...(error.status !== undefined ? { status: error.status } : {}),
              }
            : {
                kind: error.kind,
                message: error.message,
                ...(error.status !== undefined ? { status: error.status } : {}),
              };
    this.out.emit({ type: 'problem', kind: error.kind, operation: error.operation });
    // A read of the key that fails, refused or not, leaves this instance unable to vouch for the
    // leader it last read; another request refused (403) says nothing of who holds the key.
    if (source === 'watch') this.leader.keyReadFailed();
    else if (error.transient) this.leader.requestFailed();
    this.problems.set(source, { problem, transient: error.transient });
    this.publishProblems();
    this.out.markSettled();
  }

  /**
   * What to change for a misconfiguration, by the answer that showed it: a 500 is Consul refusing
   * the TTL (statusKind), a 400 or 413 Consul refusing what the options put in the request; any
   * other status (404, a proxy's 401/405, a 2xx with a body Consul never sends) is not Consul.
   */
  private fixFor(error: ConsulRequestError): string {
    if (error.status === 500) return ElectionMessages.sessionTtlRefused(this.options.sessionTtlMs);
    if (error.status === 400 || error.status === 413)
      return ElectionMessages.requestRefused(error.operation);
    const { host, port, secure } = this.options.consul;
    return ElectionMessages.notConsulAgent(`${secure ? 'https' : 'http'}://${host}:${port}`);
  }

  private publishProblems(): void {
    const outstanding = [...this.problems.values()];
    const latest = outstanding.at(-1)?.problem ?? null;
    const consulReachable = outstanding.every((entry) => !entry.transient);
    const signature = latest ? `${latest.kind}:${latest.status ?? ''}:${consulReachable}` : null;
    const now = this.clock.now();
    // A misconfiguration lasts until someone acts: said again now and then, so that it is seen in
    // a log read long after the start, where a single line would have scrolled away.
    const remind =
      latest?.kind === 'misconfigured' && now - this.lastLoggedAt >= MISCONFIGURED_LOG_INTERVAL_MS;
    if (signature !== this.lastLoggedProblem || remind) {
      this.lastLoggedAt = now;
      if (latest?.kind === 'forbidden' || latest?.kind === 'misconfigured')
        this.logger.error(latest.message);
      else if (latest)
        this.logger.warn(
          latest.kind === 'no-local-agent'
            ? latest.message
            : ElectionMessages.retrying(this.options.key, latest.message),
        );
      else this.logger.log(ElectionMessages.answersAgain(this.options.key));
      this.lastLoggedProblem = signature;
    }
    // Retries repeat the same problem: emit only when what a subscriber would show changes.
    const state = this.out.state;
    if (!sameProblem(state.problem, latest) || state.consulReachable !== consulReachable) {
      const unreachableSince = consulReachable
        ? null
        : (state.unreachableSince ?? this.clock.now());
      this.out.publish({ problem: latest, consulReachable, unreachableSince });
    }
  }
}

function sameProblem(a: ElectionProblem | null, b: ElectionProblem | null): boolean {
  return (
    a === b || (!!a && !!b && a.kind === b.kind && a.status === b.status && a.message === b.message)
  );
}
