// Candidates in their own process, with the library's DEFAULT timings (what users get): joins
// `count` elections on one key and reports, as JSON lines on stdout, when each starts leading —
// the moment its first leader-only action can run. Commands on stdin: `resign` (the leading
// candidate of this process steps down and releases the key) and `stop` (leave gracefully, exit).
// SIGTERM leaves gracefully too. Times are wall-clock ms (performance.timeOrigin + now), which all
// processes of this machine share.
import * as readline from 'node:readline';
import { LeaderElection, type ElectionLogger } from '../../lib/election';

const [host, port, key, idPrefix, countText, resignPause = '1s', staggerText = '0'] =
  process.argv.slice(2);
// Start-up only: the elections join this many ms apart, so that a process of 50 does not register
// 50 services with the agent in the same millisecond.
const staggerMs = Number(staggerText);
const count = Number(countText);
// BENCH_DEBUG=1 prints every line the elections log, with its wall time, to stderr.
const debug = process.env.BENCH_DEBUG === '1';
const toStderr = (level: string) => (message: string) =>
  void process.stderr.write(`${new Date().toISOString()} ${idPrefix} ${level} ${message}\n`);
const silent: ElectionLogger = debug
  ? {
      log: toStderr('log'),
      warn: toStderr('warn'),
      error: toStderr('error'),
      debug: toStderr('debug'),
    }
  : { log: () => undefined, warn: () => undefined, error: toStderr('error') };
const wallNow = (): number => performance.timeOrigin + performance.now();
const emit = (event: Record<string, unknown>): void =>
  void process.stdout.write(`${JSON.stringify(event)}\n`);

const elections = Array.from(
  { length: count },
  (_, i) =>
    new LeaderElection({
      key,
      instanceId: `${idPrefix}-${String(i).padStart(3, '0')}`,
      consul: { host, port: Number(port) },
      logger: silent,
    }),
);

for (const [i, election] of elections.entries()) {
  let leading = false;
  election.state$.subscribe((state) => {
    const now = state.role === 'leader' && state.term !== null;
    if (now && !leading)
      emit({
        ev: 'leader',
        id: election.instanceId,
        token: state.term?.fencingToken,
        at: wallNow(),
      });
    if (!now && leading) emit({ ev: 'follower', id: election.instanceId, at: wallNow() });
    leading = now;
  });
  if (staggerMs > 0) setTimeout(() => election.start(), i * staggerMs);
  else election.start();
}

void Promise.all(elections.map((election) => election.whenSettled())).then(() =>
  emit({
    ev: 'ready',
    serviceName: elections[0]?.options.healthCheck?.serviceName ?? null,
    pid: process.pid,
  }),
);

let stopping = false;
async function leave(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await Promise.all(elections.map((election) => election.stop()));
  emit({ ev: 'stopped' });
  process.exit(0);
}

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const command = line.trim();
  if (command === 'resign') {
    const at = wallNow();
    const leader = elections.find((election) => election.isLeader());
    emit({ ev: 'resigning', id: leader?.instanceId ?? null, at });
    void leader?.resign({ pause: resignPause });
  } else if (command === 'stop') {
    void leave();
  }
});
process.on('SIGTERM', () => void leave());
process.stdin.on('end', () => void leave());
