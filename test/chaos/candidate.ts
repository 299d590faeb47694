// One candidate process of a chaos run: the library's LeaderElection (from lib/, as a user would run
// it) and a leader-only action loop that logs every step it takes, with its fencing token and the
// monotonic time, to the run's shared log. The nemesis starts it, SIGKILLs, SIGSTOPs and restarts it;
// SIGTERM stops it gracefully (election.stop(), which releases the key and leaves Consul).
//   node -r ts-node/register/transpile-only test/chaos/candidate.ts '<CandidateConfig as JSON>'
import { appendFileSync, createWriteStream } from 'node:fs';
import type { ElectionOptions, LeadershipTerm } from '../../lib/election';
import { LeaderElection, NodeConsulPort } from '../../lib/election';
import { startJobs } from './candidate-jobs';
import { monotonicMs, type ChaosRecord } from './chaos-log';

export interface CandidateConfig {
  readonly key: string;
  readonly instanceId: string;
  /** How many times this instance was started before: the process is `instanceId#incarnation`. */
  readonly incarnation: number;
  /** Where the candidate talks to Consul (its own proxy in front of the agent). */
  readonly host: string;
  readonly port: number;
  readonly token?: string;
  readonly logFile: string;
  /** The library's own log lines go here. */
  readonly electionLogFile: string;
  readonly options: Partial<ElectionOptions>;
  /** The process that started this one: when it is gone (killed itself), this one goes too. */
  readonly nemesisPid: number;
}

/** A step whose two clock reads are further apart than this was paused mid-check: its moment is unknown. */
const IMPRECISE_MS = 20;
/** A leader action: this many steps, this far apart, each only after `isLeader()` said yes. */
const STEPS = 3;
const STEP_GAP_MS = 4;
/** Between actions (a follower polls `isLeader()` at this rate too). */
const ACTION_GAP_MS = 15;

const config = JSON.parse(process.argv[2] ?? '{}') as CandidateConfig;
const processName = `${config.instanceId}#${config.incarnation}`;

function write(record: ChaosRecord): void {
  // One write(2) per line on an O_APPEND file: lines of different processes never interleave, and a
  // SIGKILL loses at most the line being written.
  appendFileSync(config.logFile, `${JSON.stringify(record)}\n`);
}

const electionLog = createWriteStream(config.electionLogFile, { flags: 'a' });
const logLine =
  (level: string) =>
  (message: string): void =>
    void electionLog.write(`${monotonicMs().toFixed(1)} ${processName} ${level} ${message}\n`);

const logger = { log: logLine('log'), warn: logLine('warn'), error: logLine('error') };
const consul = { host: config.host, port: config.port, token: config.token };
// One port for the election and its ClusterCron jobs, as the Nest module shares it.
const port = new NodeConsulPort({ ...consul, secure: false });
const election = new LeaderElection({
  ...config.options,
  key: config.key,
  instanceId: config.instanceId,
  consul,
  consulPort: port,
  logger,
});
const jobs = startJobs({
  election,
  port,
  processName,
  instanceId: config.instanceId,
  requestTimeoutMs: election.options.requestTimeoutMs,
  logger,
  write,
});

let lastRole: string | null = null;
election.state$.subscribe((state) => {
  if (state.role === lastRole) return;
  lastRole = state.role;
  write({
    k: 'role',
    p: processName,
    role: state.role,
    tok: state.term?.fencingToken ?? null,
    t: monotonicMs(),
  });
});

let stopping = false;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Asks `isLeader()` between two reads of the monotonic clock: when it says yes, this process was
 * entitled to act at some moment of [t0, t1] with the term it returns.
 */
function leaderNow(): { term: LeadershipTerm; t0: number; t1: number } | null {
  const t0 = monotonicMs();
  const leader = election.isLeader();
  const term = election.state.term;
  const t1 = monotonicMs();
  if (!leader || term === null) return null;
  if (t1 - t0 > IMPRECISE_MS) {
    write({ k: 'imprecise', p: processName, t0, t1 });
    return null;
  }
  return { term, t0, t1 };
}

/**
 * The leader-only work, as a `@LeaderOnly` job does it: starts only while `isLeader()`, checks it
 * again (and the term's AbortSignal) before each step, and logs each step it took.
 */
async function actionLoop(): Promise<void> {
  let action = 0;
  while (!stopping) {
    await sleep(ACTION_GAP_MS);
    const first = leaderNow();
    if (!first) continue;
    action += 1;
    const { term } = first;
    let step: ReturnType<typeof leaderNow> = first;
    for (let i = 0; i < STEPS && step && !stopping; i += 1) {
      if (step.term.fencingToken !== term.fencingToken || term.signal.aborted) break;
      write({
        k: 'act',
        p: processName,
        tok: term.fencingToken,
        a: action,
        t0: step.t0,
        t1: step.t1,
      });
      if (i + 1 < STEPS) {
        await sleep(STEP_GAP_MS);
        step = leaderNow();
      }
    }
  }
}

async function shutdown(): Promise<void> {
  if (stopping) return;
  stopping = true;
  // The jobs first: their runs end and their outcomes are written while the session still leads.
  await jobs.stop();
  await election.stop();
  port.close();
  write({ k: 'stopped', p: processName, pid: process.pid, t: monotonicMs() });
  electionLog.end(() => process.exit(0));
}

setInterval(() => {
  try {
    process.kill(config.nemesisPid, 0);
  } catch {
    process.exit(1);
  }
}, 1_000).unref();
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());
write({ k: 'started', p: processName, pid: process.pid, t: monotonicMs() });
election.start();
void actionLoop();
