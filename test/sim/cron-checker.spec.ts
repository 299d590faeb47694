// The ClusterCron rules over hand-built ledgers: each rule passes a clean ledger and reports the
// one defect it is for.
import {
  checkCron,
  checkFencing,
  checkLost,
  checkOnce,
  checkOverlap,
  checkTiming,
} from './cron-checker';
import type { CronJobSpec, CronLedger, CronRun, CronSinkWrite } from './cron-ledger';

const T0 = Date.UTC(2026, 0, 1);
/** Wall time `s` seconds after T0. */
const t = (s: number): number => T0 + s * 1_000;

const JOB: CronJobSpec = {
  name: 'job-1',
  cronTime: '*/5 * * * * *',
  overlap: 'skip',
  misfire: 'run-once',
  orphans: 'record',
  graceMs: 1_000,
  workMs: 1_000,
  obeysSignal: true,
  failureRate: 0,
};

/** A run of fire `fire` (s) on `instance`, begun `lateMs` after T at true ms `startTrue`. */
const run = (
  fire: number,
  token: number,
  startTrue: number,
  extra: Partial<CronRun> = {},
): CronRun => ({
  job: 'job-1',
  fireTime: t(fire),
  token,
  attempt: 1,
  instance: 'c1.1',
  startTrue,
  startWall: t(fire) + 10,
  endTrue: startTrue + 500,
  outcome: 'done',
  ...extra,
});

const write = (run: CronRun, atTrue: number): CronSinkWrite => ({
  job: run.job,
  fireTime: run.fireTime,
  attempt: run.attempt,
  token: run.token,
  instance: run.instance,
  atTrue,
});

const ledger = (overrides: Partial<CronLedger>): CronLedger => ({
  jobs: [JOB],
  runs: [],
  skips: [],
  orphans: [],
  sinkWrites: [],
  leads: [],
  interruptions: [],
  wipes: [],
  requestTimeoutMs: 200,
  ...overrides,
});

/** Fires 5, 10, 15 s run on time, one after the other, each writing to the sink. */
const clean = (): CronLedger => {
  const runs = [run(5, 10, 5_000), run(10, 12, 10_000), run(15, 14, 15_000)];
  return ledger({ runs, sinkWrites: runs.map((r) => write(r, r.startTrue)) });
};

describe('the ClusterCron checker', () => {
  it('passes fires run once each, on time, fenced, one after the other', () => {
    expect(checkCron(clean())).toEqual([]);
  });

  describe('rule 1: once per fire', () => {
    it('reports a fire run twice', () => {
      const runs = [run(5, 10, 5_000), run(5, 12, 6_000, { instance: 'c2.1' })];
      expect(checkOnce(ledger({ runs })).map((v) => v.rule)).toEqual(['cron-once']);
    });

    it('allows the re-run of an orphan with a larger token and attempt, in the order of the claims', () => {
      const first = run(5, 10, 9_000, { endTrue: 9_500 });
      const again = run(5, 12, 7_000, { attempt: 2, instance: 'c2.1' });
      const orphans = [
        { job: 'job-1', fireTime: t(5), token: 10, instance: 'c2.1', atTrue: 7_000 },
      ];
      const job = { ...JOB, orphans: 'rerun' as const };
      expect(checkOnce(ledger({ jobs: [job], runs: [first, again], orphans }))).toEqual([]);
      // Not without the opt-in.
      expect(checkOnce(ledger({ runs: [first, again], orphans }))).toHaveLength(1);
    });

    it('allows a fire run again after a wiped agent lost its record', () => {
      const runs = [run(5, 10, 5_000), run(5, 3, 8_000)];
      expect(checkOnce(ledger({ runs, wipes: [7_000] }))).toEqual([]);
    });
  });

  describe('rule 2: the fenced sink', () => {
    it('reports the newest fire refused by a sink holding an older fire’s larger token', () => {
      const older = run(5, 20, 5_000);
      const newer = run(10, 12, 10_000);
      const violations = checkFencing(
        ledger({ runs: [older, newer], sinkWrites: [write(older, 5_000), write(newer, 10_000)] }),
      );
      expect(violations.map((v) => v.message)).toEqual([expect.stringContaining('refused')]);
    });

    it('reports two fires sharing a token', () => {
      const a = run(5, 10, 5_000);
      const b = run(10, 10, 10_000);
      expect(
        checkFencing(ledger({ sinkWrites: [write(a, 5_000), write(b, 10_000)] })).map(
          (v) => v.message,
        ),
      ).toEqual([expect.stringContaining('shares its token')]);
    });

    it('lets the sink refuse a stale owner’s late write, and starts it over at a wipe', () => {
      const stale = run(5, 10, 5_000);
      const next = run(10, 12, 10_000);
      const afterWipe = run(15, 3, 15_000);
      const sinkWrites = [
        write(stale, 5_000),
        write(next, 10_000),
        write(stale, 11_000),
        write(afterWipe, 15_000),
      ];
      expect(checkFencing(ledger({ sinkWrites, wipes: [14_000] }))).toEqual([]);
    });
  });

  describe('rule 3: no fire lost in silence', () => {
    it('reports a fire neither run, skipped nor orphaned between decided ones', () => {
      const runs = [run(5, 10, 5_000), run(15, 14, 15_000)];
      expect(checkLost(ledger({ runs })).map((v) => v.message)).toEqual([
        expect.stringContaining('1 fire(s) neither run nor skipped'),
      ]);
    });

    it('reports fires due before the last leader stopped that nobody decided', () => {
      const leads = [{ instance: 'c1.1', fromTrue: 0, toTrue: 30_000, toWall: t(30) }];
      const violations = checkLost(ledger({ runs: [run(5, 10, 5_000)], leads }));
      expect(violations.map((v) => v.rule)).toEqual(['cron-lost']);
    });

    it('accepts a skip with its reason, and a summary for the fires it does not list', () => {
      const runs = [run(5, 10, 5_000), run(30, 14, 30_000, { startWall: t(30) + 5 })];
      const skip = (fire: number | null, count = 1) => ({
        job: 'job-1',
        fireTime: fire === null ? null : t(fire),
        count,
        reason: 'misfire' as const,
        instance: 'c1.1',
        atTrue: 30_000,
        atWall: t(30) + 5,
      });
      const skips = [skip(null, 3), skip(25)];
      const with15 = [...runs, run(10, 11, 10_000)];
      expect(checkLost(ledger({ runs: with15, skips }))).toEqual([]);
    });

    it('reports a misfire skip of a fire that was on time, with nothing later run', () => {
      const skips = [
        {
          job: 'job-1',
          fireTime: t(10),
          count: 1,
          reason: 'misfire' as const,
          instance: 'c1.1',
          atTrue: 10_100,
          atWall: t(10) + 100,
        },
      ];
      const job = { ...JOB, misfire: 'skip' as const };
      const runs = [run(5, 10, 5_000), run(15, 12, 15_000)];
      expect(checkLost(ledger({ jobs: [job], runs, skips })).map((v) => v.message)).toEqual([
        expect.stringContaining('on time'),
      ]);
    });

    it('accepts run-once misfires whose decision’s claim its claimer gave up (seed 830)', () => {
      // The claim of 30 s (skipping 10–25 s) was applied, its answer lost, and leadership moved
      // before it was read back: the read reports the skips, and the claimer records 30 s orphaned,
      // not run (cluster-cron.md, "A lost answer").
      const skips = [10, 15, 20, 25].map((fire) => ({
        job: 'job-1',
        fireTime: t(fire),
        count: 1,
        reason: 'misfire' as const,
        instance: 'c2.1',
        atTrue: 31_000,
        atWall: t(31),
      }));
      const orphan = (instance: string) => ({
        job: 'job-1',
        fireTime: t(30),
        token: 20,
        instance,
        atTrue: 31_002,
      });
      const runs = [run(5, 10, 5_000)];
      expect(checkLost(ledger({ runs, skips, orphans: [orphan('c2.1')] }))).toEqual([]);
      // Another instance's orphan of that fire is no part of this decision.
      const other = checkLost(ledger({ runs, skips, orphans: [orphan('c3.1')] }));
      expect(other.map((v) => v.message)).toEqual(
        [10, 15, 20, 25].map(() => expect.stringContaining('run-once, yet no later fire ran')),
      );
    });

    it('reports an overlap skip under overlap allow', () => {
      const skips = [
        {
          job: 'job-1',
          fireTime: t(10),
          count: 1,
          reason: 'overlap' as const,
          instance: 'c1.1',
          atTrue: 10_000,
          atWall: t(10),
        },
      ];
      const job = { ...JOB, overlap: 'allow' as const };
      const runs = [run(5, 10, 5_000, { endTrue: 12_000 }), run(15, 12, 15_000)];
      expect(checkLost(ledger({ jobs: [job], runs, skips })).map((v) => v.rule)).toEqual([
        'cron-lost',
      ]);
    });
  });

  describe('rule 4: overlap', () => {
    it('reports two runs of a skip-overlap job at once, across instances', () => {
      const runs = [
        run(5, 10, 5_000, { endTrue: 12_000 }),
        run(10, 12, 10_000, { instance: 'c2.1' }),
      ];
      expect(checkOverlap(ledger({ runs })).map((v) => v.rule)).toEqual(['cron-overlap']);
    });

    it('allows them under overlap allow, and beside an orphaned run', () => {
      const runs = [
        run(5, 10, 5_000, { endTrue: 12_000 }),
        run(10, 12, 10_000, { instance: 'c2.1' }),
      ];
      const job = { ...JOB, overlap: 'allow' as const };
      expect(checkOverlap(ledger({ jobs: [job], runs }))).toEqual([]);
      const orphans = [
        { job: 'job-1', fireTime: t(5), token: 10, instance: 'c2.1', atTrue: 9_000 },
      ];
      expect(checkOverlap(ledger({ runs, orphans }))).toEqual([]);
    });
  });

  describe('rule 5: timing', () => {
    it('reports a fire started before T on its clock', () => {
      const runs = [run(5, 10, 4_900, { startWall: t(5) - 100 })];
      expect(checkTiming(ledger({ runs })).map((v) => v.message)).toEqual([
        expect.stringContaining('before T'),
      ]);
    });

    it('reports a late run of a fire that was not the latest due (run-once)', () => {
      // 5 s started 12 s late: 10 and 15 were due by then.
      const runs = [run(5, 10, 17_000, { startWall: t(17) })];
      expect(checkTiming(ledger({ runs })).map((v) => v.message)).toEqual([
        expect.stringContaining('later fire(s) were due'),
      ]);
    });

    it('reports any late run under misfire skip, and none of a process that was paused', () => {
      const runs = [run(5, 10, 8_000, { startWall: t(8) })];
      const job = { ...JOB, misfire: 'skip' as const };
      expect(checkTiming(ledger({ jobs: [job], runs }))).toHaveLength(1);
      const interruptions = [{ instance: 'c1.1', fromTrue: 6_000, toTrue: 7_500 }];
      expect(checkTiming(ledger({ jobs: [job], runs, interruptions }))).toEqual([]);
    });

    it('accepts the latest due fire run late (run-once)', () => {
      const runs = [run(5, 10, 8_000, { startWall: t(8) })];
      expect(checkTiming(ledger({ runs }))).toEqual([]);
    });
  });
});
