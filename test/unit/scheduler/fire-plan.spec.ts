// The pieces the runner stands on, alone: fire times as @Cron computes them, the misfire plan,
// the job record's encoding, and the clock-offset bounds.
import { ClockOffset } from '../../../lib/scheduler/clock-offset';
import { FireSchedule } from '../../../lib/scheduler/fire-times';
import {
  decodeJobRecord,
  encodeJobRecord,
  jobRecordKey,
  withToken,
  type JobRecord,
} from '../../../lib/scheduler/job-record';
import { LISTED_SKIPS, planFires } from '../../../lib/scheduler/misfire-plan';

const T0 = Date.UTC(2026, 0, 1);
const s = (seconds: number): number => T0 + seconds * 1_000;

describe('fire times', () => {
  it('are the points of the schedule strictly after a time, in the job time zone', () => {
    const nightly = new FireSchedule('0 0 2 * * *', 'Europe/Paris');
    // 02:00 in Paris is 01:00 UTC in January.
    expect(new Date(nightly.next(T0)).toISOString()).toBe('2026-01-01T01:00:00.000Z');
    const every5s = new FireSchedule('*/5 * * * * *');
    expect(every5s.next(s(5)) - T0).toBe(10_000);
  });

  it('refuses an expression cron refuses, naming it', () => {
    expect(() => new FireSchedule('every day')).toThrow('Cron expression "every day" is invalid');
  });

  it('lists only the latest fires of a long outage, and says how many came before', () => {
    const everySecond = new FireSchedule('* * * * * *');
    const day = everySecond.between(T0, s(86_400), 3);
    expect(day.times).toEqual([s(86_398), s(86_399), s(86_400)]);
    // Beyond what a walk may count, the count of earlier fires is an estimate.
    expect(day.exact).toBe(false);
    expect(day.earlier).toBeGreaterThan(86_397 * 0.9);
    expect(day.earlier).toBeLessThan(86_397 * 1.1);
    const minute = everySecond.between(T0, s(60), 3);
    expect(minute).toEqual({ times: [s(58), s(59), s(60)], earlier: 57, exact: true });
  });

  it('ends for any limit: a limit above half a walk once restarted the walk where it began, for ever', () => {
    // The simulator's checker asks for up to 5,000 fires; 700 s of one-second fires overflow one
    // walk (500 steps), and the restart point computed for 5,001 fires lay before the start.
    const everySecond = new FireSchedule('* * * * * *');
    const long = everySecond.between(T0, s(700), 5_000);
    expect(long.times.length + long.earlier).toBeGreaterThan(700 * 0.9);
    expect(long.times.at(-1)).toBe(s(700));
    expect(long.times.length).toBeLessThanOrEqual(5_000);
  });
});

describe('the misfire plan', () => {
  const every5s = new FireSchedule('*/5 * * * * *');

  it('runs the one fire due on time, whatever the policy', () => {
    for (const policy of ['skip', 'run-once', { catchUp: 3, withinMs: 60_000 }] as const) {
      expect(planFires(every5s, s(0), s(5.2), policy, 1_000)).toEqual({
        run: [s(5)],
        skipped: [],
        skippedUnlisted: 0,
        exact: true,
      });
    }
  });

  it('plans nothing before the next fire, and nothing for fires already decided', () => {
    expect(planFires(every5s, s(5), s(9), 'run-once', 1_000).run).toEqual([]);
    expect(planFires(every5s, s(10), s(9), 'run-once', 1_000).run).toEqual([]);
  });

  it('lists at most the latest skipped fires and counts the others', () => {
    const plan = planFires(every5s, s(0), s(5 * 300), 'run-once', 1_000);
    expect(plan.run).toEqual([s(5 * 300)]);
    expect(plan.skipped).toHaveLength(LISTED_SKIPS);
    expect(plan.skipped.at(-1)).toBe(s(5 * 299));
    expect(plan.skippedUnlisted + plan.skipped.length).toBe(299);
    expect(plan.exact).toBe(true);
  });
});

describe('the job record', () => {
  const running: JobRecord = {
    decidedThrough: s(5),
    run: {
      fireTime: s(5),
      owner: 'a',
      session: 'S',
      state: 'running',
      attempt: 1,
      startedAt: s(5),
    },
    lastSkip: null,
  };

  it('reads back what it wrote', () => {
    expect(decodeJobRecord('k', encodeJobRecord(running))).toEqual(running);
  });

  it('refuses a value it did not write, naming the key', () => {
    expect(() => decodeJobRecord('jobs/x', 'hello')).toThrow(
      'The job record at "jobs/x" cannot be read (not JSON)',
    );
    expect(() => decodeJobRecord('jobs/x', '{"v":2,"decidedThrough":1}')).toThrow('version 2');
  });

  it('takes the token of a claim from the index of the record that carries it, and keeps it in later writes', () => {
    expect(withToken({ record: running, modifyIndex: 42 })?.run?.token).toBe(42);
    const later = { ...running, run: { ...running.run!, token: 42 } };
    expect(withToken({ record: later, modifyIndex: 50 })?.run?.token).toBe(42);
  });

  it('names a job only with what every Consul accepts in a key', () => {
    expect(jobRecordKey('svc/leader', 'Reports.nightly')).toBe('svc/leader/jobs/Reports.nightly');
    expect(() => jobRecordKey('svc/leader', '../x')).toThrow(
      'Job name "../x" cannot name a Consul key',
    );
  });
});

describe('the clock offset against Consul', () => {
  it('bounds the offset from the Date headers of answers, to within the round trip and the second', () => {
    const offset = new ClockOffset();
    // Consul's clock is 3.4 s ahead; its Date has 1 s resolution; round trips of 10 ms.
    for (let sent = 0; sent < 5_000; sent += 370) {
      const consulAt = sent + 5 + 3_400;
      offset.sample(sent, sent + 10, Math.floor(consulAt / 1_000) * 1_000);
    }
    const bounds = offset.bounds()!;
    expect(bounds.low).toBeLessThanOrEqual(3_400);
    expect(bounds.high).toBeGreaterThanOrEqual(3_400);
    expect(bounds.high - bounds.low).toBeLessThan(500);
    expect(offset.beyond(2_000)).toBeGreaterThan(2_000);
    expect(offset.beyond(5_000)).toBeNull();
  });

  it('starts again when a clock jumps', () => {
    const offset = new ClockOffset();
    offset.sample(0, 10, 3_000);
    offset.sample(100_000, 100_010, 100_000);
    expect(offset.bounds()?.samples).toBe(1);
    expect(offset.beyond(2_000)).toBeNull();
  });
});
