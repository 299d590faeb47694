import type { ChaosJobSpec } from './candidate-jobs';
import type { ChaosRecord, FireRecord, WorkRecord } from './chaos-log';
import { checkCronLedger } from './cron-ledger';

const job = (overrides: Partial<ChaosJobSpec> = {}): ChaosJobSpec => ({
  name: 'j',
  cronTime: '* * * * * *',
  periodMs: 1_000,
  workMs: 100,
  overlap: 'skip',
  misfire: 'run-once',
  orphans: 'record',
  ...overrides,
});

// Fire times T are wall ms; `t` is monotonic ms, here T / 1000 so the two never get confused.
const fire = (T: number, tok: number, p = 'c1#1', att = 1, t = T / 1_000): FireRecord => ({
  k: 'fire',
  p,
  job: 'j',
  T,
  tok,
  att,
  t,
  w: T + 5,
});
const work = (tok: number, t0: number, t1: number, p = 'c1#1'): WorkRecord => ({
  k: 'work',
  p,
  job: 'j',
  tok,
  t0,
  t1,
  ld: true,
});

const rules = (records: ChaosRecord[], spec = job(), wipes: number[] = []): string[] =>
  checkCronLedger({ records, jobs: [spec], wipes, wallOffsetMs: 0 }).violations.map((v) => v.rule);

describe('the ledger checker of the chaos run’s ClusterCron jobs', () => {
  it('passes a ledger of fires each run once, in token order, with the gap skipped for a reason', () => {
    const records: ChaosRecord[] = [
      fire(1_000, 10),
      work(10, 1, 1.1),
      fire(2_000, 12),
      work(12, 2, 2.1),
      { k: 'skip', p: 'c2#1', job: 'j', T: 3_000, n: 1, reason: 'misfire', t: 3.5 },
      { k: 'orphan', p: 'c2#1', job: 'j', T: 4_000, tok: 14, owner: 'c1', t: 4.5 },
      fire(5_000, 16, 'c2#1'),
    ];

    expect(rules(records)).toEqual([]);
  });

  it('catches a fire started twice, and allows it only as an opt-in re-run with a larger token', () => {
    const twice = [fire(1_000, 10), fire(1_000, 12, 'c2#1')];
    const rerun = [fire(1_000, 10), fire(1_000, 12, 'c2#1', 2)];

    expect(rules(twice)).toContain('cron-once');
    expect(rules(rerun)).toContain('cron-once');
    expect(rules(rerun, job({ orphans: 'rerun' }))).toEqual([]);
    expect(rules([fire(1_000, 12), fire(1_000, 10, 'c2#1', 2)], job({ orphans: 'rerun' }))).toEqual(
      expect.arrayContaining(['cron-once', 'cron-tokens']),
    );
  });

  it('catches a token that does not grow with the fire time, but not across a wipe', () => {
    const records = [fire(1_000, 10), fire(2_000, 8)];

    expect(rules(records)).toEqual(['cron-tokens']);
    expect(rules(records, job(), [1.5])).toEqual([]);
  });

  it('catches a fire lost in silence, unless a skip summary counts it', () => {
    const lost = [fire(1_000, 10), fire(3_000, 12)];

    expect(rules(lost)).toEqual(['cron-accounted']);
    expect(
      rules([...lost, { k: 'skip', p: 'c1#1', job: 'j', T: null, n: 1, reason: 'misfire', t: 3 }]),
    ).toEqual([]);
  });

  it('puts a missing fire down to a leader killed at its time only when one was', () => {
    const lost = [fire(1_000, 10), fire(3_000, 12, 'c2#1')];
    // c1#1 acted as leader until the missing fire's time (the wall clock is the monotonic one
    // here: offset 0) and never stopped gracefully.
    const killed: ChaosRecord = { k: 'act', p: 'c1#1', tok: 3, a: 1, t0: 1_999, t1: 2_000.5 };
    const stopped: ChaosRecord = { k: 'stopped', p: 'c1#1', pid: 1, t: 2_001 };

    expect(rules([...lost, killed])).toEqual([]);
    expect(rules([...lost, killed, stopped])).toEqual(['cron-accounted']);
  });

  it('catches two runs of an overlap-skip job doing work at once, and not of an overlap-allow one', () => {
    const records = [
      fire(1_000, 10),
      work(10, 1, 1.1),
      work(10, 3, 3.1),
      fire(2_000, 12, 'c2#1'),
      work(12, 2, 2.1, 'c2#1'),
    ];

    expect(rules(records)).toEqual(['cron-overlap']);
    expect(rules(records, job({ overlap: 'allow' }))).toEqual([]);
  });

  it('does not take two runs with the same token on either side of a wipe for one run', () => {
    // Tokens start again after a wipe: c1#1 runs token 10 before it and again after it (here the
    // monotonic clock is the wall clock: offset 0).
    const records = [
      fire(1_000, 10, 'c1#1', 1, 1_000),
      work(10, 1_000, 1_100),
      fire(2_000, 12, 'c1#1', 1, 2_000),
      work(12, 2_000, 2_100),
      fire(9_000, 10, 'c1#1', 1, 9_000),
      work(10, 9_000, 9_100),
    ];

    expect(rules(records, job(), [5_000])).not.toContain('cron-overlap');
  });
});
