import { describeDuration } from './time/duration';

/** Texts of the errors and log lines of the election core, in one place so that they stay consistent. */
export const ElectionMessages = {
  optionRequired: (field: string, accepted: string) =>
    `ConsulLeader option "${field}" is required: ${accepted}.`,
  optionOutOfRange: (field: string, value: unknown, accepted: string) =>
    `ConsulLeader option "${field}" is ${formatValue(value)}; accepted: ${accepted}.`,
  optionRuleBroken: (rule: string, detail: string) =>
    `ConsulLeader options break the rule ${rule}: ${detail}.`,
  forbidden: (key: string, operation: string, status: number | undefined) =>
    `Consul refused the ${operation} for key "${key}" (HTTP ${status ?? 403}): the ACL token lacks the rights the ` +
    `election needs — session:write on this node, key:write on "${key}", and service:write for its health check.`,
  sessionLost: (key: string, sessionId: string) =>
    `Consul no longer knows session ${sessionId} of "${key}"; opening a new one`,
  releaseForbiddenSessionDestroyed: (key: string, sessionId: string, detail: string) =>
    `${detail}: the ACL token may not write key "${key}" (key:write), so the key could not be released. ` +
    `Destroyed session ${sessionId} instead, which frees the key (the next leader waits lock-delay); ` +
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

function formatValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return 'undefined';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
