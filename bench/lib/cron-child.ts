// One instance in its own process, with the library's default timings, that runs ClusterCron jobs on
// its election the way the Nest layer will (one JobRunner per job on the election's leadership and
// port). Reports, as JSON lines on stdout: ready, leader/follower, and each fire started or skipped.
// Commands on stdin: `jobs J` starts J every-second jobs (the J = 0 baseline runs none), `stop`.
// SIGTERM stops too. Times are wall-clock ms (performance.timeOrigin + now), shared by the machine.
//   node -r ts-node/register/transpile-only bench/lib/cron-child.ts HOST PORT KEY ID
import * as readline from 'node:readline';
import { LeaderElection, NodeConsulPort, systemClock } from '../../lib/election';
import type { FireEvent } from '../../lib/scheduler/cluster-job';
import { jobRecordKey } from '../../lib/scheduler/job-record';
import { JobRunner } from '../../lib/scheduler/job-runner';
import { electionLeadership } from '../../lib/scheduler/leadership';

const [host, port, key, id] = process.argv.slice(2);
const wallNow = (): number => performance.timeOrigin + performance.now();
const emit = (event: Record<string, unknown>): void =>
  void process.stdout.write(`${JSON.stringify(event)}\n`);
const toStderr = (level: string) => (message: string) =>
  void process.stderr.write(`${new Date().toISOString()} ${id} ${level} ${message}\n`);
const logger = { log: () => undefined, warn: toStderr('warn'), error: toStderr('error') };

const consul = { host, port: Number(port) };
const consulPort = new NodeConsulPort({ ...consul, secure: false });
const election = new LeaderElection({ key, instanceId: id, consul, consulPort, logger });
const leadership = electionLeadership(election, consulPort, election.options.requestTimeoutMs);
const runners: JobRunner[] = [];

let leading = false;
election.state$.subscribe((state) => {
  const now = state.role === 'leader' && state.term !== null;
  if (now !== leading) emit({ ev: now ? 'leader' : 'follower', id, at: wallNow() });
  leading = now;
});

const onEvent = (event: FireEvent): void => {
  if (event.kind === 'started') {
    emit({ ev: 'fire', job: event.job, T: event.fireTime, tok: event.token, at: wallNow() });
  } else if (event.kind === 'skipped') {
    emit({
      ev: 'skip',
      job: event.job,
      T: event.fireTime,
      n: event.count,
      reason: event.reason,
      at: wallNow(),
    });
  } else if (event.kind === 'orphaned') {
    emit({ ev: 'orphan', job: event.job, T: event.fireTime });
  }
};

function startJobs(count: number): void {
  for (let i = runners.length; i < count; i += 1) {
    const name = `job-${String(i).padStart(3, '0')}`;
    const runner = new JobRunner({
      job: {
        name,
        cronTime: '* * * * * *',
        overlap: 'skip',
        misfire: 'run-once',
        orphans: 'record',
        graceMs: 1_000,
        handler: () => undefined,
      },
      port: consulPort,
      clock: systemClock,
      leadership,
      instanceId: id,
      recordKey: jobRecordKey(key, name),
      requestTimeoutMs: election.options.requestTimeoutMs,
      logger,
      onEvent,
    });
    runners.push(runner);
    runner.start();
  }
  emit({ ev: 'jobs', count: runners.length, at: wallNow() });
}

election.start();
void election.whenSettled().then(() =>
  emit({
    ev: 'ready',
    serviceName: election.options.healthCheck?.serviceName ?? null,
    pid: process.pid,
  }),
);

let stopping = false;
async function leave(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await Promise.all(runners.map((runner) => runner.stop()));
  await election.stop();
  leadership.dispose();
  consulPort.close();
  emit({ ev: 'stopped' });
  process.exit(0);
}

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const [command, arg] = line.trim().split(/\s+/);
  if (command === 'jobs') startJobs(Number(arg));
  else if (command === 'stop') void leave();
});
process.on('SIGTERM', () => void leave());
process.stdin.on('end', () => void leave());
