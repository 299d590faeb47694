/**
 * Where each job's owner is recorded: `<election key>/owners/<name>`, one key per job beside its
 * record (`<election key>/jobs/<name>`, job-record.ts), held (KV acquire) by the owning instance's
 * candidate session. Its value is a `LeaderValue` (the election's own: instance id, the lease a
 * successor must wait out, the release markers: `protocol/leader-value.ts`), so the election's takeover arithmetic
 * (protocol/takeover.ts) reads it unchanged. All of them sit under one prefix, read in one request.
 */
export function ownersPrefix(electionKey: string): string {
  return `${electionKey}/owners/`;
}

export function ownerKey(electionKey: string, job: string): string {
  return `${ownersPrefix(electionKey)}${job}`;
}

/** The job an owner key belongs to, or null for a key that is not directly under the prefix. */
export function jobOfOwnerKey(electionKey: string, key: string): string | null {
  const prefix = ownersPrefix(electionKey);
  if (!key.startsWith(prefix)) return null;
  const job = key.slice(prefix.length);
  return job.length > 0 && !job.includes('/') ? job : null;
}
