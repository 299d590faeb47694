// The scheduler's log lines: each names the job, the fire and why.

const at = (fireTime: number): string => new Date(fireTime).toISOString();

export const SchedulerMessages = {
  skipped: (job: string, fireTime: number, reason: 'overlap' | 'misfire'): string =>
    reason === 'overlap'
      ? `Job "${job}": fire ${at(fireTime)} skipped (overlap: its previous run still runs)`
      : `Job "${job}": fire ${at(fireTime)} skipped (misfire: no owner on time, policy skips it)`,
  skippedEarlier: (job: string, count: number, exact: boolean): string =>
    `Job "${job}": ${exact ? '' : 'at least '}${count} earlier fires skipped (misfire: no owner on time)`,
  orphaned: (job: string, fireTime: number, token: number, owner: string, rerun: boolean): string =>
    `Job "${job}": run of fire ${at(fireTime)} (token ${token}) by ${owner} orphaned: its session is gone` +
    (rerun ? '; running it again with a new token' : '; not run again (orphans: record)'),
  claimGivenUp: (job: string, fireTime: number, token: number): string =>
    `Job "${job}": fire ${at(fireTime)} (token ${token}) was claimed here, but the answer was lost ` +
    `and leadership moved before it was read back: recorded orphaned, not run`,
  sessionsHidden: (job: string, sessionId: string): string =>
    `Job "${job}": cannot tell whether session ${sessionId} of its last run lives: Consul shows no ` +
    `session to this ACL token, not even this instance's own. Its run is taken as still running ` +
    `(orphans are not detected) until the token has session_prefix "" { policy = "read" }`,
  failed: (job: string, fireTime: number, token: number, error: string): string =>
    `Job "${job}": fire ${at(fireTime)} (token ${token}) failed: ${error}`,
  stepFailed: (job: string, error: string): string =>
    `Job "${job}": cannot reach its record (${error}); trying again`,
  outcomeNotRecorded: (job: string, token: number, error: string): string =>
    `Job "${job}": outcome of run ${token} not recorded yet (${error}); trying again`,
  clockSkew: (offsetMs: number, boundMs: number): string =>
    `This instance's clock is ${Math.round(Math.abs(offsetMs))} ms ${offsetMs > 0 ? 'behind' : 'ahead of'} Consul's ` +
    `(bound ${boundMs} ms): cron fires will start early or late by that much`,
  triggerNotLeading: (job: string): string =>
    `Job "${job}" cannot be triggered here: this instance does not run the jobs (it does not lead); trigger it on the leader`,
  triggerOverlap: (job: string): string =>
    `Job "${job}" was not triggered: its previous run still runs and its overlap policy is 'skip'`,
  triggerAnswerLost: (job: string, error: string): string =>
    `Job "${job}": the answer to the triggered fire's claim was lost (${error}); the fire runs if the claim was applied (see describe())`,
  triggerStopped: (job: string): string => `Job "${job}" was not triggered: its runner stopped`,
  stopped: 'the job runner stopped',
  leadershipEnded: 'this instance no longer leads',
};
