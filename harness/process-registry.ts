import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pollUntil } from './poll';
import { harnessPaths, type HarnessPaths } from './harness-paths';

/**
 * Every process the harness starts is written down in `.consul/run/<pid>.json` and the file is
 * removed when the process is stopped. Jest's globalTeardown and `cli.ts check-leftovers` read
 * these files, so an agent survives neither a failed suite nor a killed worker.
 *
 * Several engineers (and several Jest runs) share one tree, so a record carries its owner's PID
 * and the Jest run id: a teardown only kills what its own run started, or what an owner that is
 * gone left behind. Before any kill the PID's command line is compared with the recorded one, so
 * a PID reused by the system is never touched.
 */
export interface RunRecord {
  readonly pid: number;
  /** The process that spawned it (a Jest worker, the CLI). */
  readonly ownerPid: number;
  /** `CONSUL_HARNESS_RUN_ID` of the Jest run that started it, if any. */
  readonly runId: string | undefined;
  readonly node: string;
  readonly argv: readonly string[];
  /** The agent's config and data, under `.consul/data/`; removed with an orphan. */
  readonly workDir?: string;
  readonly startedAt: string;
}

/** Set by global-setup and inherited by Jest workers. */
export const RUN_ID_ENV = 'CONSUL_HARNESS_RUN_ID';

export function recordProcess(
  record: Omit<RunRecord, 'ownerPid' | 'runId' | 'startedAt'>,
  paths: HarnessPaths = harnessPaths(),
): RunRecord {
  const full: RunRecord = {
    ...record,
    ownerPid: process.pid,
    runId: process.env[RUN_ID_ENV],
    startedAt: new Date().toISOString(),
  };
  fs.mkdirSync(paths.run, { recursive: true });
  fs.writeFileSync(path.join(paths.run, `${record.pid}.json`), JSON.stringify(full, null, 2));
  return full;
}

export function forgetProcess(pid: number, paths: HarnessPaths = harnessPaths()): void {
  fs.rmSync(path.join(paths.run, `${pid}.json`), { force: true });
}

/**
 * Removes the work dir of a record whose owner can no longer do it. Only below `.consul/data/`:
 * a record is a file anyone could edit, and this is an `rm -rf`.
 */
function removeWorkDir(record: RunRecord, paths: HarnessPaths): void {
  if (record.workDir === undefined) return;
  const resolved = path.resolve(record.workDir);
  if (!resolved.startsWith(paths.data + path.sep)) return;
  fs.rmSync(resolved, { recursive: true, force: true });
}

export function listRecords(paths: HarnessPaths = harnessPaths()): RunRecord[] {
  let names: string[];
  try {
    names = fs.readdirSync(paths.run);
  } catch {
    return [];
  }
  const records: RunRecord[] = [];
  for (const name of names.filter((n) => /^\d+\.json$/.test(n))) {
    try {
      records.push(JSON.parse(fs.readFileSync(path.join(paths.run, name), 'utf8')) as RunRecord);
    } catch {
      // A file being written by another worker right now; the next reader will see it whole.
    }
  }
  return records;
}

export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True when `pid` is alive and still runs exactly the recorded command line (not a reused PID). */
export function isRecordedProcessAlive(record: RunRecord): boolean {
  if (!isPidAlive(record.pid)) return false;
  const cmdlinePath = `/proc/${record.pid}/cmdline`;
  if (fs.existsSync('/proc/self/cmdline')) {
    let cmdline: string;
    try {
      cmdline = fs.readFileSync(cmdlinePath, 'utf8');
    } catch {
      return false;
    }
    // A zombie (exited, not yet reaped) has an empty command line: nothing left to kill.
    return cmdline.split('\0').filter(Boolean).join('\0') === record.argv.join('\0');
  }
  try {
    const command = execFileSync('ps', ['-o', 'command=', '-p', String(record.pid)], {
      encoding: 'utf8',
    });
    return command.includes(record.argv[0]) && command.includes(record.node);
  } catch {
    return false;
  }
}

/**
 * Records whose process still runs (dead ones are forgotten on the way): all of them, or, when
 * `scope` is given, the orphans (owner gone) plus those of run `runId`.
 */
export function liveRecords(
  scope?: { runId?: string; orphansOnly: true },
  paths: HarnessPaths = harnessPaths(),
): RunRecord[] {
  return listRecords(paths).filter((record) => {
    if (!isRecordedProcessAlive(record)) {
      forgetProcess(record.pid, paths);
      // A live owner may be restarting the agent in that same dir: only an orphan's goes.
      if (!isPidAlive(record.ownerPid)) removeWorkDir(record, paths);
      return false;
    }
    if (scope === undefined) return true;
    const orphan = record.ownerPid !== process.pid && !isPidAlive(record.ownerPid);
    return orphan || (scope.runId !== undefined && record.runId === scope.runId);
  });
}

/** Whether `check` came true within `timeoutMs`. */
function waitUntil(check: () => boolean, timeoutMs: number): Promise<boolean> {
  return pollUntil('the recorded processes to exit', check, { timeoutMs, intervalMs: 50 }).catch(
    () => false,
  );
}

/**
 * SIGTERM, then SIGKILL after `graceMs`, each only after re-checking the command line.
 * Resolves with the records that could not be stopped.
 */
export async function killRecorded(
  records: readonly RunRecord[],
  graceMs = 5_000,
  paths: HarnessPaths = harnessPaths(),
): Promise<RunRecord[]> {
  const signal = (record: RunRecord, sig: NodeJS.Signals): void => {
    if (!isRecordedProcessAlive(record)) return;
    try {
      process.kill(record.pid, sig);
    } catch {
      // Exited between the check and the kill.
    }
  };
  records.forEach((r) => signal(r, 'SIGTERM'));
  const allGone = () => records.every((r) => !isRecordedProcessAlive(r));
  if (!(await waitUntil(allGone, graceMs))) {
    records.forEach((r) => signal(r, 'SIGKILL'));
    await waitUntil(allGone, 2_000);
  }
  const left = records.filter(isRecordedProcessAlive);
  for (const r of records) {
    if (left.includes(r)) continue;
    forgetProcess(r.pid, paths);
    removeWorkDir(r, paths);
  }
  return left;
}

/**
 * Synchronous last resort for a process that exits while its agents run (a Jest worker torn
 * down, the CLI crashing): SIGKILL whatever this process started. Runs from an `exit` handler,
 * where nothing asynchronous can happen.
 */
export function killOwnChildrenSync(paths: HarnessPaths = harnessPaths()): void {
  for (const record of listRecords(paths)) {
    if (record.ownerPid !== process.pid || !isRecordedProcessAlive(record)) continue;
    try {
      process.kill(record.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
    forgetProcess(record.pid, paths);
    removeWorkDir(record, paths);
  }
}

function onExit(): void {
  killOwnChildrenSync();
}

/** Idempotent: the handler is a module constant, so it is added to `process` at most once. */
export function installExitCleanup(): void {
  if (!process.listeners('exit').includes(onExit)) process.on('exit', onExit);
}

/*
 * Runs beside each agent and stops it when the process that started it dies (a Jest worker that
 * crashed or was killed), checked once a second. It compares the agent's command line with the
 * one it saw at start, so a reused PID is never signalled, and it ends as soon as the agent does;
 * while the owner lives, the agent and its dir are the owner's business (it may be restarting).
 * A separate process because `process.on('exit')` cannot help: inside a Jest test `process` is a
 * sandbox copy whose listeners never fire, and nothing runs in a SIGKILLed worker anyway.
 */
const WATCHDOG_SCRIPT = `
owner=$1 agent=$2 dir=$3
cmd() { ps -o args= -p "$1" 2>/dev/null; }
seen=$(cmd "$agent")
while kill -0 "$owner" 2>/dev/null && kill -0 "$agent" 2>/dev/null; do sleep 1; done
kill -0 "$owner" 2>/dev/null && exit 0
if [ -n "$seen" ] && [ "$(cmd "$agent")" = "$seen" ]; then
  kill -TERM "$agent" 2>/dev/null
  i=0; while [ $i -lt 10 ] && kill -0 "$agent" 2>/dev/null; do sleep 0.5; i=$((i+1)); done
  [ "$(cmd "$agent")" = "$seen" ] && kill -KILL "$agent" 2>/dev/null
fi
[ -n "$dir" ] && rm -rf "$dir"
exit 0
`;

/**
 * Starts the watchdog for `agentPid` (owner: this process); it needs nothing more from us. Once
 * the owner is gone it also removes `workDir` (only if below `.consul/data/`).
 */
export function watchOwner(
  agentPid: number,
  workDir?: string,
  paths: HarnessPaths = harnessPaths(),
): void {
  // Lets a test leave an orphan behind on purpose, to prove the teardown finds it.
  if (process.env.CONSUL_HARNESS_NO_WATCHDOG === '1') return;
  const watchdog = spawn(
    'sh',
    [
      '-c',
      WATCHDOG_SCRIPT,
      'consul-watchdog',
      String(process.pid),
      String(agentPid),
      workDir !== undefined && path.resolve(workDir).startsWith(paths.data + path.sep)
        ? workDir
        : '',
    ],
    {
      stdio: 'ignore',
      // Its own process group: a Ctrl-C in the terminal reaches the agents directly, not it.
      detached: true,
    },
  );
  watchdog.on('error', () => undefined);
  watchdog.unref();
}
