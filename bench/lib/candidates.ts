import type { ChildProcess } from 'node:child_process';
import { pollUntil } from '../../harness';
import { onLines, signal, spawnTs, waitExit, type ProcessRegistry } from './processes';

export interface CandidateEvent {
  readonly ev: 'ready' | 'leader' | 'follower' | 'resigning' | 'stopped';
  readonly id?: string | null;
  readonly token?: number;
  /** Wall-clock ms in the child. */
  readonly at?: number;
  readonly serviceName?: string | null;
}

/** A bench/lib/candidate-child.ts process holding `count` candidates with default timings. */
export class CandidateProcess {
  readonly child: ChildProcess;
  readonly events: CandidateEvent[] = [];
  serviceName: string | null = null;

  constructor(
    registry: ProcessRegistry,
    consul: { host: string; port: number },
    key: string,
    readonly idPrefix: string,
    readonly count: number,
    staggerMs = 0,
  ) {
    this.child = spawnTs(registry, 'bench/lib/candidate-child.ts', [
      consul.host,
      String(consul.port),
      key,
      idPrefix,
      String(count),
      '1s',
      String(staggerMs),
    ]);
    onLines(this.child, (line) => {
      try {
        const event = JSON.parse(line) as CandidateEvent;
        if (event.ev === 'ready') this.serviceName = event.serviceName ?? null;
        this.events.push(event);
      } catch {
        // not ours
      }
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  ready(timeoutMs = 60_000): Promise<true> {
    return pollUntil(`${this.idPrefix} ready`, () => this.events.some((e) => e.ev === 'ready'), {
      timeoutMs: timeoutMs,
      intervalMs: 5,
    });
  }

  /** Whether one of this process's candidates leads now (by its last leader/follower events). */
  get leading(): boolean {
    const last = new Map<string, string>();
    for (const event of this.events)
      if (event.id && (event.ev === 'leader' || event.ev === 'follower'))
        last.set(event.id, event.ev);
    return [...last.values()].includes('leader');
  }

  send(command: string): void {
    this.child.stdin?.write(`${command}\n`);
  }

  kill(): void {
    signal(this.child.pid, 'SIGKILL');
  }

  async stop(timeoutMs = 15_000): Promise<void> {
    signal(this.child.pid, 'SIGTERM');
    if (!(await waitExit(this.child, timeoutMs))) signal(this.child.pid, 'SIGKILL');
  }
}

/** The first `leader` event after wall time `after` among the processes, waited for up to `timeoutMs`. */
export function firstLeaderAfter(
  processes: readonly CandidateProcess[],
  after: number,
  timeoutMs: number,
): Promise<CandidateEvent & { process: CandidateProcess }> {
  return pollUntil(
    'a new leader',
    () => {
      let best: (CandidateEvent & { process: CandidateProcess }) | undefined;
      for (const process of processes) {
        for (const event of process.events) {
          if (event.ev === 'leader' && (event.at ?? 0) > after && (!best || event.at! < best.at!))
            best = { ...event, process };
        }
      }
      return best;
    },
    { timeoutMs: timeoutMs, intervalMs: 5 },
  );
}

/** Polls the agent (directly, not through a counting proxy) until `count` instances of the service pass. */
export function waitForCandidates(
  address: string,
  serviceName: string,
  count: number,
  timeoutMs = 60_000,
): Promise<void> {
  return waitForCount(
    `${address}/v1/health/service/${encodeURIComponent(serviceName)}?passing=1`,
    (body) => (body as unknown[]).length,
    count,
    timeoutMs,
    100,
    `candidates of ${serviceName} pass`,
  );
}

/** Polls until `count` sessions whose name matches exist (a candidate can take the key in one request only once its session does). */
export function waitForSessions(
  address: string,
  match: (name: string) => boolean,
  count: number,
  timeoutMs = 60_000,
): Promise<void> {
  return waitForCount(
    `${address}/v1/session/list`,
    (body) => (body as Array<{ Name: string }>).filter((session) => match(session.Name)).length,
    count,
    timeoutMs,
    50,
    'sessions',
  );
}

/** Polls a Consul read until what it counts reaches `count`, or throws saying how far it got. */
async function waitForCount(
  url: string,
  countOf: (body: unknown) => number,
  count: number,
  timeoutMs: number,
  everyMs: number,
  what: string,
): Promise<void> {
  let seen = 0;
  await pollUntil(
    `${count} ${what}`,
    async () => {
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
        seen = countOf(await response.json());
      } catch {
        // a busy agent may drop a poll; the next one counts
      }
      return seen >= count;
    },
    { timeoutMs, intervalMs: everyMs, lastSeen: () => `${seen}` },
  );
}

/** The key and the candidates' checks as Consul sees them, for a failure report. */
export async function diagnose(
  address: string,
  key: string,
  serviceName: string | null,
): Promise<string> {
  const get = async (path: string): Promise<unknown> => {
    try {
      const response = await fetch(`${address}${path}`, { signal: AbortSignal.timeout(3_000) });
      return response.status === 404 ? null : await response.json();
    } catch (error) {
      return String(error);
    }
  };
  const kv = (await get(`/v1/kv/${key}`)) as Array<{
    Session?: string;
    LockIndex: number;
    Value?: string;
  }> | null;
  const entry = kv?.[0];
  const health = serviceName
    ? ((await get(`/v1/health/service/${serviceName}`)) as Array<{
        Service: { ID: string };
        Checks: Array<{ CheckID: string; Status: string }>;
      }>)
    : [];
  return JSON.stringify({
    key: entry
      ? {
          session: entry.Session ?? null,
          lockIndex: entry.LockIndex,
          value: entry.Value ? Buffer.from(entry.Value, 'base64').toString() : null,
        }
      : null,
    passing: (Array.isArray(health) ? health : []).filter((h) =>
      h.Checks.every((c) => c.Status === 'passing'),
    ).length,
    notPassing: (Array.isArray(health) ? health : [])
      .filter((h) => !h.Checks.every((c) => c.Status === 'passing'))
      .map((h) => `${h.Service.ID}: ${h.Checks.map((c) => c.Status).join('/')}`),
  });
}
