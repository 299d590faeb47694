import { describeDuration } from './time/duration';

/** Texts of the errors and log lines of the election core, in one place so that they stay consistent. */
export const ElectionMessages = {
  optionRequired: (field: string, accepted: string) =>
    `ConsulLeader option "${field}" is required: ${accepted}.`,
  optionOutOfRange: (field: string, value: unknown, accepted: string) =>
    `ConsulLeader option "${field}" is ${formatValue(value)}; accepted: ${accepted}.`,
  unknownOption: (field: string, closest: string | null, known: readonly string[]) =>
    `ConsulLeader option "${field}" is not an option; ` +
    (closest ? `did you mean "${closest}"?` : `the options here are: ${known.join(', ')}.`),
  optionRuleBroken: (rule: string, detail: string) =>
    `ConsulLeader options break the rule ${rule}: ${detail}.`,
  forbidden: (refusal: AclRefusal) => {
    const { key, operation, status, serviceName } = refusal;
    const node = refusal.node === null ? "this agent's node" : `node "${refusal.node}"`;
    const rule = missingAclRule(refusal);
    const whole = [
      `key:write on "${key}"`,
      `session:write on ${node}`,
      ...(serviceName === null
        ? []
        : [
            `service:write on "${serviceName}" (its health check)`,
            "node:read on the candidates' nodes",
          ]),
    ].join(', ');
    const refused =
      status === undefined
        ? `The ${operation} for key "${key}" came back without this leader: Consul hides what the token may not read`
        : `Consul refused the ${operation} for key "${key}" (HTTP ${status})`;
    return (
      `${refused}: the ACL token lacks the rule ${rule}. ` +
      `The election needs ${whole} (docs/operations/acl.md).`
    );
  },
  candidatesHidden: (serviceName: string) =>
    `this leader is not among the passing instances of service "${serviceName}" although its session is ` +
    'bound to its passing check: Consul hides the instances of nodes the token may not read',
  misconfigured: (key: string, detail: string, fix: string, retryMs: number) =>
    `${detail} — ${fix} (key "${key}"; a configuration problem, not a passing one: retrying every ` +
    `${describeDuration(retryMs)})`,
  notConsulAgent: (address: string) =>
    `${address} does not answer as a Consul agent: point consul.host and consul.port (or ` +
    "CONSUL_HTTP_ADDR) at a Consul agent's HTTP API, normally the local agent on port 8500",
  sessionTtlRefused: (sessionTtlMs: number) =>
    `Consul's servers refuse sessionTtl ${describeDuration(sessionTtlMs)}: it is under their ` +
    'session_ttl_min. Raise sessionTtl to at least session_ttl_min, or lower session_ttl_min on the ' +
    'servers (and set sessionTtlMin to it)',
  requestRefused: (operation: string) =>
    `Consul refuses the ${operation} as malformed: check the options it is built from (key, ` +
    'healthCheck.serviceName, metadata) and that the agent is a Consul version this library supports',
  startFailed: (key: string, problem: string) =>
    `The election for "${key}" did not start (failFast): ${problem}`,
  sessionLost: (key: string, sessionId: string) =>
    `Consul no longer knows session ${sessionId} of "${key}"; opening a new one`,
  releaseForbiddenSessionDestroyed: (key: string, sessionId: string, detail: string) =>
    `${detail}: the ACL token may not write key "${key}" (key:write), so the key could not be released. ` +
    `Destroyed session ${sessionId} instead, which frees the key (the next leader waits lock-delay); ` +
    `campaigning again with a new session, which can take the key once the token may write it again.`,
  unknownAcquireForbiddenSessionDestroyed: (key: string, sessionId: string, detail: string) =>
    `${detail}: the ACL token may not read key "${key}" (key:write), and an acquire of session ${sessionId} ` +
    `went unanswered, so the key may be held by that session without this instance knowing. ` +
    `Destroyed the session, which frees the key should it hold it (the next leader waits lock-delay); ` +
    `campaigning again with a new session, which can take the key once the token may write it again.`,
  stopStepFailed: (key: string, detail: string, attempt: number, attempts: number) =>
    `Could not release "${key}" at stop (try ${attempt} of ${attempts}): ${detail}`,
  stopCleanupFailed: (key: string, sessionId: string, detail: string) =>
    `Could not destroy session ${sessionId} of "${key}" at stop (${detail}); Consul frees it by itself`,
  leaseRanOut: (key: string, leaseMs: number) =>
    `Lease on "${key}" ran out: no confirmation from Consul within ${describeDuration(leaseMs)}; stepping down`,
  keyLost: (key: string) =>
    `Key "${key}" is no longer held by this instance's session; stepping down`,
  adopted: (key: string, modifyIndex: number) =>
    `Found this instance's session holding "${key}" (an acquire whose answer was lost went through); ` +
    `adopting the hold at index ${modifyIndex}, acting once the previous holder's lease has run out`,
  drainTimedOut: (key: string, drainTimeoutMs: number) =>
    `Leader work still running after drainTimeout ${describeDuration(drainTimeoutMs)}; releasing "${key}" ` +
    `without the "released" marker (its AbortSignal was aborted), so the next leader waits out the lease`,
  checkUnknown: (key: string, sessionId: string) =>
    `The Consul agent that answered does not know the health check of session ${sessionId} ("${key}"), ` +
    'which Consul still knows: registering the check again with a new session. If this repeats, ' +
    'the requests reach another agent than the check was registered with (no local agent).',
  noLocalAgent: (key: string, sessionTtlMs: number) =>
    `There is no local Consul agent for "${key}": the agent that answers does not know the health check ` +
    'registered through another one (Consul Dataplane, or servers behind a load balancer). The election ' +
    `goes on without the check: a crashed leader is now noticed by the session TTL, within 2 × sessionTtl ` +
    `(${(2 * sessionTtlMs) / 1000} s) plus lockDelay. To keep fast failover, point consul.host at a client ` +
    "agent on this node (on Kubernetes, the node's IP from the downward API); to silence this, set " +
    'healthCheck: false.',
  leadershipEnded: (reason: string) => `Leadership ended: ${reason}`,
  left: (key: string) => `Left the election for "${key}"`,
  valueNotRewritten: (key: string, what: string, detail: string) =>
    `Could not ${what} in "${key}": ${detail}`,
  acquireRefused: (key: string, reason: string, detail: string) =>
    `Acquire of "${key}" refused (${reason}): ${detail}`,
  acquiredWaiting: (key: string, fencingToken: number, waitMs: number) =>
    `Acquired "${key}" (fencing token ${fencingToken}); acting in ${describeDuration(waitMs)}, ` +
    "once the previous holder's lease has run out",
  candidateLeasesUnread: (key: string, serviceName: string, error: string) =>
    `Could not read the candidates of service "${serviceName}" after taking "${key}", which did ` +
    `not exist (${error}); retrying with backoff, and acting only once a read names their leases ` +
    'or the longest lease allowed has passed',
  acquiredAbsentWaiting: (key: string, fencingToken: number, waitMs: number) =>
    `Acquired "${key}" (fencing token ${fencingToken}), which did not exist; acting in ` +
    `${describeDuration(waitMs)}: a key deleted under a live leader looks the same as a new one, so ` +
    'this waits out one lease in case such a leader is still acting',
  becameLeader: (key: string, fencingToken: number, term: number) =>
    `Became leader of "${key}" (fencing token ${fencingToken}, term ${term})`,
  holdNotConfirmed: (key: string) =>
    `Consul says this instance's session no longer holds "${key}"; stepping down`,
  steppedDown: (key: string, reason: string) => `Stepped down as leader of "${key}" (${reason})`,
  drainFailed: (key: string, detail: string) =>
    `Leader work of "${key}" failed while draining: ${detail}`,
  notRunning: (key: string) => `The election for "${key}" is not running`,
  stoppedWhileOpening: (key: string) =>
    `The election for "${key}" stopped while opening its session`,
  sessionOpened: (key: string, sessionId: string) => `Opened session ${sessionId} for "${key}"`,
  noLocalAgentShort: 'no local Consul agent',
  checkRegisteredElsewhere:
    'the agent that answered does not know the check registered through another agent',
  retrying: (key: string, detail: string) => `${detail} (key "${key}"; retrying with backoff)`,
  answersAgain: (key: string) => `Consul answers again for "${key}"`,
  requestFailed: (operation: string, detail: string) => `Consul ${operation} failed: ${detail}`,
  httpStatus: (status: number, body: string) => `HTTP ${status}${body ? `: ${body}` : ''}`,
  unexpectedAnswer: (body: string) => `unexpected answer: ${body.slice(0, 200) || '(empty)'}`,
  noKeyEntry: 'transaction returned no key entry',
} as const;

/** A request Consul refused by ACL, with what the message needs to name the missing rule. */
export interface AclRefusal {
  readonly key: string;
  readonly operation: string;
  /** Undefined when Consul did not refuse but filtered its answer (a read of what the token may not see). */
  readonly status: number | undefined;
  /** The candidates' service, or null without a health check. */
  readonly serviceName: string | null;
  /** The Consul agent's node name, when the election could learn it; null otherwise. */
  readonly node: string | null;
}

/** The policy rule (HCL, as in docs/operations/acl.md) whose absence makes Consul refuse `operation`. */
export function missingAclRule({ key, operation, serviceName, node }: AclRefusal): string {
  if (/^session /.test(operation))
    return node === null
      ? `session "<this agent's node name>" { policy = "write" }`
      : `session "${node}" { policy = "write" }`;
  if (/^(service |check )/.test(operation))
    return `service "${serviceName ?? '<healthCheck.serviceName>'}" { policy = "write" }`;
  if (/^candidates /.test(operation)) return 'node_prefix "" { policy = "read" }';
  return `key "${key}" { policy = "write" }`;
}

function formatValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return 'undefined';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
