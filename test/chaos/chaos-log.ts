// The shared log of a chaos run: one JSONL file to which every candidate process appends, and which
// the nemesis reads back for the checker. Times are ms of CLOCK_MONOTONIC (`process.hrtime.bigint()`),
// one clock for every process on this machine, so lines of different processes compare in true time.
import { closeSync, openSync, readSync } from 'node:fs';

/** Now, in ms of the machine's monotonic clock (the same in every process). */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/**
 * One step of a leader action that ran: the process saw `isLeader()` true with term `token` at a
 * moment between `t0` (read before the check) and `t1` (read after it).
 */
export interface ActRecord {
  readonly k: 'act';
  /** The process: instance id and incarnation (`c1#3`). */
  readonly p: string;
  readonly tok: number;
  /** The action's sequence number in its process: steps of one action share it. */
  readonly a: number;
  readonly t0: number;
  readonly t1: number;
}

/** A change of the candidate's role as its state stream published it. */
export interface RoleRecord {
  readonly k: 'role';
  readonly p: string;
  readonly role: 'follower' | 'leader' | 'stopped';
  readonly tok: number | null;
  readonly t: number;
}

/** A step the candidate could not date within the bound (a pause inside `isLeader()`): not used. */
export interface ImpreciseRecord {
  readonly k: 'imprecise';
  readonly p: string;
  readonly t0: number;
  readonly t1: number;
}

export interface LifeRecord {
  readonly k: 'started' | 'stopped';
  readonly p: string;
  readonly pid: number;
  readonly t: number;
}

/**
 * A ClusterCron fire this process started (the runner's `started` event): job, fire time T (wall
 * ms), fencing token, attempt; `t` monotonic, `w` wall ms (the fire's lag is `w − T`).
 */
export interface FireRecord {
  readonly k: 'fire';
  readonly p: string;
  readonly job: string;
  readonly T: number;
  readonly tok: number;
  readonly att: number;
  readonly t: number;
  readonly w: number;
}

/**
 * One step of a fire's work, taken only after its `signal` said not aborted, dated between `t0`
 * and `t1` (as an action step is). `ld`: whether `isLeader()` said yes too (a signal that lags the
 * lease deadline shows as `ld: false`).
 */
export interface WorkRecord {
  readonly k: 'work';
  readonly p: string;
  readonly job: string;
  readonly tok: number;
  readonly t0: number;
  readonly t1: number;
  readonly ld: boolean;
}

/** A fire's run ended (the runner's `ended` event); `aborted`: its signal had been aborted. */
export interface FireEndRecord {
  readonly k: 'fire-end';
  readonly p: string;
  readonly job: string;
  readonly T: number;
  readonly tok: number;
  readonly outcome: 'done' | 'failed';
  readonly t: number;
}

/** A fire skipped with a reason; `T` null: a summary of `n` earlier fires not listed. */
export interface SkipRecord {
  readonly k: 'skip';
  readonly p: string;
  readonly job: string;
  readonly T: number | null;
  readonly n: number;
  readonly reason: 'overlap' | 'misfire';
  readonly t: number;
}

/** A run whose owner died mid-run (or whose claim was given up), recorded orphaned by `p`. */
export interface OrphanRecord {
  readonly k: 'orphan';
  readonly p: string;
  readonly job: string;
  readonly T: number;
  readonly tok: number;
  readonly owner: string;
  readonly t: number;
}

export type CronRecord = FireRecord | WorkRecord | FireEndRecord | SkipRecord | OrphanRecord;

export type ChaosRecord = ActRecord | RoleRecord | ImpreciseRecord | LifeRecord | CronRecord;

/** Reads the lines appended since the last call (a line cut by a SIGKILL mid-write is skipped). */
export class LogReader {
  private offset = 0;
  private partial = '';
  readonly records: ChaosRecord[] = [];
  /** Lines that did not parse (a process killed while writing one). */
  torn = 0;

  constructor(private readonly file: string) {}

  poll(): ChaosRecord[] {
    const fresh: ChaosRecord[] = [];
    let fd: number;
    try {
      fd = openSync(this.file, 'r');
    } catch {
      return fresh;
    }
    try {
      const buffer = Buffer.alloc(1 << 20);
      for (;;) {
        const n = readSync(fd, buffer, 0, buffer.length, this.offset);
        if (n === 0) break;
        this.offset += n;
        const text = this.partial + buffer.subarray(0, n).toString('utf8');
        const lines = text.split('\n');
        this.partial = lines.pop() ?? '';
        for (const line of lines) {
          if (line.trim() === '') continue;
          try {
            fresh.push(JSON.parse(line) as ChaosRecord);
          } catch {
            this.torn += 1;
          }
        }
      }
    } finally {
      closeSync(fd);
    }
    this.records.push(...fresh);
    return fresh;
  }
}
