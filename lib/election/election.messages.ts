import { describeDuration } from './duration';

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
  keyLost: (key: string) =>
    `Key "${key}" is no longer held by this instance's session; stepping down`,
  adopted: (key: string, modifyIndex: number) =>
    `Found this instance's session holding "${key}" (an acquire whose answer was lost went through); ` +
    `adopting the hold at index ${modifyIndex}, acting once the previous holder's lease has run out`,
  drainTimedOut: (key: string, drainTimeoutMs: number) =>
    `Leader work still running after drainTimeout ${describeDuration(drainTimeoutMs)}; releasing "${key}" ` +
    `without the "released" marker (its AbortSignal was aborted), so the next leader waits out the lease`,
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
