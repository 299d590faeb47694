// Helpers for specs that run real elections: short timings that Consul accepts with the harness's
// lowered session_ttl_min, a recorder of who led when, and polling with deadlines instead of sleeps.
import { appendFileSync, readFileSync } from 'node:fs';
import { filter, firstValueFrom, timeout } from 'rxjs';
import type { ElectionLogger, ElectionOptions, LeadershipState } from '../../lib/election';
import { LeaderElection } from '../../lib/election';
import type { ConsulAgent } from '../../harness';

import { FAST_TIMINGS } from '../../harness/fast-timings';
import { pollUntil } from '../../harness/poll';

export { FAST_TIMINGS };
export { pollUntil };

/** A logger that keeps lines for a failing test to show, and prints nothing. */
export function memoryLogger(
  prefix: string,
  lines: string[] = [],
): ElectionLogger & { lines: string[] } {
  const push = (level: string) => (message: string) =>
    void lines.push(`${prefix} ${level} ${message}`);
  return {
    lines,
    log: push('log'),
    warn: push('warn'),
    error: push('error'),
    debug: push('debug'),
  };
}

export function createElection(
  agent: Pick<ConsulAgent, 'host' | 'port'>,
  key: string,
  instanceId: string,
  overrides: Partial<ElectionOptions> = {},
): LeaderElection {
  return new LeaderElection({
    key,
    instanceId,
    consul: { host: agent.host, port: agent.port },
    logger: memoryLogger(instanceId),
    ...FAST_TIMINGS,
    ...overrides,
  });
}

export function uniqueKey(name: string): string {
  return `test/${name}/${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

export async function waitForState(
  election: LeaderElection,
  predicate: (state: LeadershipState) => boolean,
  timeoutMs = 15_000,
  label = 'state',
): Promise<LeadershipState> {
  try {
    return await firstValueFrom(election.state$.pipe(filter(predicate), timeout(timeoutMs)));
  } catch (error) {
    throw new Error(
      `${election.instanceId}: no ${label} within ${timeoutMs} ms (last: ${JSON.stringify(election.state)}): ${error}`,
    );
  }
}

export interface LeadershipInterval {
  readonly instanceId: string;
  readonly fencingToken: number;
  readonly start: number;
  /** The earlier of the step-down and the lease deadline last seen: when it really stopped acting. */
  end: number | null;
}

/**
 * Records when each election led, from its state stream, so that a spec can check that no two
 * intervals overlap and that fencing tokens grow. Times are `performance.now()` of this process.
 */
export class LeadershipRecorder {
  readonly intervals: LeadershipInterval[] = [];

  watch(election: LeaderElection): void {
    let current: LeadershipInterval | null = null;
    let lastDeadline = Infinity;
    election.state$.subscribe((state) => {
      const now = performance.now();
      if (state.role === 'leader' && state.term) {
        if (!current) {
          current = {
            instanceId: state.instanceId,
            fencingToken: state.term.fencingToken,
            start: now,
            end: null,
          };
          this.intervals.push(current);
        }
        lastDeadline = state.stepDownDeadline ?? Infinity;
      } else if (current) {
        current.end = Math.min(now, lastDeadline);
        current = null;
      }
    });
  }

  /** Pairs of intervals that overlap in time. */
  overlaps(): Array<[LeadershipInterval, LeadershipInterval]> {
    const found: Array<[LeadershipInterval, LeadershipInterval]> = [];
    for (const [i, a] of this.intervals.entries()) {
      for (const b of this.intervals.slice(i + 1)) {
        if (a.instanceId === b.instanceId) continue;
        const aEnd = a.end ?? Infinity;
        const bEnd = b.end ?? Infinity;
        if (a.start < bEnd && b.start < aEnd) found.push([a, b]);
      }
    }
    return found;
  }
}

export async function consulGet<T>(agent: Pick<ConsulAgent, 'address'>, path: string): Promise<T> {
  const response = await fetch(`${agent.address}${path}`, { signal: AbortSignal.timeout(3_000) });
  const text = await response.text();
  if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${text}`);
  return JSON.parse(text) as T;
}

/** One line of the shared action log written by {@link recordActions}. */
export interface ActionLine {
  readonly kind: 'action' | 'lease' | 'role';
  readonly instanceId: string;
  readonly fencingToken?: number;
  readonly role?: string;
  /** Wall-clock ms (the system clock every process on this machine shares). */
  readonly at: number;
  /** The latest wall-clock ms at which this instance may still act, when it holds the key. */
  readonly until: number | null;
}

/**
 * Leader-only work as a user writes it, for the fault specs: every 10 ms it acts if and only if
 * `isLeader()` says so, and appends each action to a log shared between processes, with the
 * lease deadline it had. Returns a function that stops it.
 */
export function recordActions(election: LeaderElection, logPath: string): () => void {
  const toWallMs = (monotonicMs: number): number => performance.timeOrigin + monotonicMs;
  const append = (line: Omit<ActionLine, 'at' | 'until' | 'instanceId'>): void => {
    const deadline = election.stepDownDeadline;
    const full: ActionLine = {
      ...line,
      instanceId: election.instanceId,
      at: toWallMs(performance.now()),
      until: deadline === null ? null : toWallMs(deadline),
    };
    appendFileSync(logPath, `${JSON.stringify(full)}\n`);
  };
  let role = election.state.role;
  const subscription = election.state$.subscribe((state) => {
    if (state.role !== role) append({ kind: 'role', role: state.role });
    role = state.role;
    if (state.role === 'leader') append({ kind: 'lease', fencingToken: state.term?.fencingToken });
  });
  const timer = setInterval(() => {
    if (election.isLeader())
      append({ kind: 'action', fencingToken: election.state.term?.fencingToken });
  }, 10);
  return () => {
    clearInterval(timer);
    subscription.unsubscribe();
  };
}

export function readActions(logPath: string): ActionLine[] {
  let text = '';
  try {
    text = readFileSync(logPath, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as ActionLine);
}

/** Waits until the leader has named `instanceId` among its successors in the key (see succession.ts). */
export async function waitUntilNamedSuccessor(
  agent: Pick<ConsulAgent, 'address'>,
  key: string,
  instanceId: string,
): Promise<void> {
  await pollUntil(`${instanceId} among the successors in ${key}`, async () => {
    const [entry] = await consulGet<Array<{ Value: string | null }>>(agent, `/v1/kv/${key}`).catch(
      () => [],
    );
    if (!entry?.Value) return undefined;
    const value = JSON.parse(Buffer.from(entry.Value, 'base64').toString()) as {
      successors?: string[];
    };
    return value.successors?.includes(instanceId) || undefined;
  });
}
