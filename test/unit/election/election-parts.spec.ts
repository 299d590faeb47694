import { Backoff } from '../../../lib/election/time/backoff';
import {
  describeDuration,
  parseDuration,
  toConsulDuration,
} from '../../../lib/election/time/duration';
import { Lease } from '../../../lib/election/protocol/lease';
import {
  actTime,
  leaseWaitMs,
  mayClaimReleased,
  vacancyOf,
  type Vacancy,
} from '../../../lib/election/protocol/takeover';
import { decodeLeaderValue, encodeLeaderValue } from '../../../lib/election/protocol/leader-value';
import {
  SUCCESSION_LIST_LENGTH,
  successionRank,
  successorsOf,
} from '../../../lib/election/protocol/succession';

describe('durations', () => {
  it.each([
    ['15s', 15_000],
    ['500ms', 500],
    ['1m30s', 90_000],
    ['1.5s', 1_500],
    ['2h', 7_200_000],
    ['0', 0],
    [250, 250],
  ])('parses %j as %d ms', (input, ms) => expect(parseDuration(input)).toBe(ms));

  it.each([['15'], ['s'], ['-1s'], ['1x'], [''], [Number.NaN], [-5]])('rejects %j', (input) =>
    expect(parseDuration(input)).toBeUndefined(),
  );

  it('sends durations to Consul with a unit, since Consul reads a bare LockDelay below 1000 as seconds', () => {
    expect(toConsulDuration(600)).toBe('600ms');
    expect(describeDuration(2_500)).toBe('2.5s');
  });
});

describe('the lease', () => {
  /** The same moment on both clocks, the wall clock 1e12 ms ahead. */
  const at = (mono: number, wallDrift = 0) => ({ mono, wall: 1e12 + mono + wallDrift });
  const pair = (now: { mono: number; wall: number }): [number, number] => [now.mono, now.wall];

  it('runs D from the send time of the confirmation, not from its answer', () => {
    const lease = new Lease(1_000, at(100));
    expect(lease.deadline).toBe(1_100);
    expect(lease.isValidAt(...pair(at(1_099)))).toBe(true);
    expect(lease.isValidAt(...pair(at(1_100)))).toBe(false);
  });

  it('is never shortened by a confirmation answered out of order', () => {
    const lease = new Lease(1_000, at(100));
    lease.confirm(at(600));
    lease.confirm(at(400));
    expect(lease.deadline).toBe(1_600);
  });

  it('ends when the wall clock says D has passed, though the monotonic clock stood still (a suspend)', () => {
    const lease = new Lease(1_000, at(100));
    // 300 ms later on the monotonic clock, but the machine slept 5 s in between.
    expect(lease.isValidAt(...pair(at(400, 5_000)))).toBe(false);
    expect(lease.remainingAt(at(400, 5_000))).toBe(0);
  });

  it('counts the wall-clock bound from the latest confirmation sent, also after the wall clock was stepped back', () => {
    const lease = new Lease(1_000, at(100));
    // The wall clock is set back a minute; the next confirmation is sent at mono 600.
    lease.confirm(at(600, -60_000));
    expect(lease.isValidAt(...pair(at(1_500, -60_000)))).toBe(true);
    // A suspend of 5 s after that: only the wall clock shows it, and it must.
    expect(lease.isValidAt(...pair(at(700, -55_000)))).toBe(false);
    // An answer that arrives out of order (sent earlier, on the old wall clock) does not undo it.
    lease.confirm(at(500));
    expect(lease.isValidAt(...pair(at(700, -55_000)))).toBe(false);
  });

  it('is not extended by a wall clock stepped back', () => {
    const lease = new Lease(1_000, at(100));
    expect(lease.isValidAt(...pair(at(1_100, -60_000)))).toBe(false);
    expect(lease.remainingAt(at(600, -60_000))).toBe(500);
  });
});

describe('when a new holder may act (takeover.ts)', () => {
  const D = 1_000;
  const wait = leaseWaitMs(D, undefined);
  it.each<[string, Vacancy, number]>([
    // vacancy, expected act time for: sent 100, answered 105, free seen at 40
    ['a key released with the marker: at the acquire', 'released', 100],
    ['a key handed back without it: D after we saw it free', 'handed-back', 40 + wait],
    ['an invalidated key: D after we saw it free', 'invalidated', 40 + wait],
    [
      'an absent key: D after the acquire answered (a deletion leaves no trace)',
      'absent',
      105 + wait,
    ],
  ])('%s', (_name, vacancy, expected) => {
    expect(actTime({ vacancy, sentAt: 100, answeredAt: 105, freeSeenAt: 40, waitMs: wait })).toBe(
      expected,
    );
  });

  it('never acts before the acquire was sent, however early the key was seen free', () => {
    expect(
      actTime({
        vacancy: 'invalidated',
        sentAt: 5_000,
        answeredAt: 5_001,
        freeSeenAt: 0,
        waitMs: wait,
      }),
    ).toBe(5_000);
  });

  it.each([
    [1_000, undefined, 1_010],
    [1_000, 3_000, 3_030],
    [3_000, 1_000, 3_030],
  ])(
    'waits out the longer of its own D (%d) and the previous holder’s (%s), plus 1%%',
    (own, previous, expected) => {
      expect(leaseWaitMs(own, previous)).toBeCloseTo(expected, 6);
    },
  );

  it.each<[boolean, boolean, Vacancy, boolean]>([
    [true, true, 'invalidated', true],
    [true, false, 'released', false],
    [false, true, 'invalidated', false],
    [false, true, 'absent', false],
    [false, true, 'handed-back', false],
    [false, true, 'released', true],
  ])(
    'a release may carry the marker: acted %s, work drained %s, took a key %s → %s',
    (acted, workDrained, vacancy, claim) => {
      expect(mayClaimReleased({ acted, workDrained, vacancy })).toBe(claim);
    },
  );

  it('reads the vacancy from the value the last holder wrote', () => {
    const entry = (value: object | null) => ({
      value: value && JSON.stringify({ instanceId: 'x', metadata: {}, since: '', ...value }),
      session: null,
      lockIndex: 1,
      modifyIndex: 9,
    });
    expect(vacancyOf(null)).toBe('absent');
    expect(vacancyOf(entry({ releasedAt: 'now' }))).toBe('released');
    expect(vacancyOf(entry({ handedBackAt: 'now', leaseMs: 2_000 }))).toBe('handed-back');
    expect(vacancyOf(entry({}))).toBe('invalidated');
    expect(vacancyOf(entry(null))).toBe('invalidated');
  });

  it('trusts a marker on LockIndex 0 (a plain PUT, an import) only when it names the hold last seen', () => {
    const plain = (value: object) => ({
      value: JSON.stringify({ instanceId: 'x', metadata: {}, since: '', ...value }),
      session: null,
      lockIndex: 0,
      modifyIndex: 9,
    });
    const marker = { releasedAt: 'now', releasedBy: 's1', token: 5 };
    expect(vacancyOf(plain(marker), { session: 's1', token: 5, lockIndex: 1 })).toBe('released');
    // A copy of an older release, or a follower that saw another hold (or none): no claim.
    expect(vacancyOf(plain(marker), { session: 's1', token: 7, lockIndex: 1 })).toBe('handed-back');
    expect(vacancyOf(plain(marker), { session: 's2', token: 5, lockIndex: 1 })).toBe('handed-back');
    expect(vacancyOf(plain(marker), null)).toBe('handed-back');
    expect(vacancyOf(plain({}), { session: 's1', token: 5, lockIndex: 1 })).toBe('invalidated');
  });
});

describe('backoff', () => {
  it('grows exponentially up to its cap, with jitter below the ceiling', () => {
    const backoff = new Backoff(100, 1_000, () => 1);
    expect([1, 2, 3, 4, 5].map(() => backoff.next())).toEqual([100, 200, 400, 800, 1_000]);
    backoff.reset();
    expect(backoff.next()).toBe(100);
    expect(new Backoff(100, 1_000, () => 0).next()).toBe(50);
  });
});

describe('ordered succession', () => {
  const candidates = [
    { instanceId: 'c', createIndex: 30 },
    { instanceId: 'leader', createIndex: 5 },
    { instanceId: 'a', createIndex: 10 },
    { instanceId: 'b', createIndex: 20 },
  ];

  it('lets the leader name its successors by registration order, leaving itself out', () => {
    expect(successorsOf(candidates, 'leader')).toEqual(['a', 'b', 'c']);
    // The holder it took over from is named last.
    expect(successorsOf(candidates, 'leader', 'a')).toEqual(['b', 'c', 'a']);
  });

  it('keeps the holder it took over from last, even when the list is cut', () => {
    const many = Array.from({ length: 12 }, (_, i) => ({ instanceId: `i${i}`, createIndex: i }));
    const named = successorsOf(many, 'i5', 'i0');
    expect(named).toHaveLength(SUCCESSION_LIST_LENGTH);
    expect(named.at(-1)).toBe('i0');
    expect(named.slice(0, -1)).toEqual(['i1', 'i2', 'i3', 'i4', 'i6', 'i7', 'i8']);
  });

  it('names at most a few successors, each once', () => {
    const many = Array.from({ length: 20 }, (_, i) => ({
      instanceId: `i${i % 15}`,
      createIndex: i,
    }));
    const named = successorsOf(many, 'nobody');
    expect(named).toHaveLength(SUCCESSION_LIST_LENGTH);
    expect(new Set(named).size).toBe(SUCCESSION_LIST_LENGTH);
  });

  it("ranks a follower by its place in the last holder's list", () => {
    expect(['a', 'b', 'c'].map((id) => successionRank(['a', 'b', 'c'], id))).toEqual([0, 1, 2]);
  });

  it('queues the holder that just left behind everyone, listed or not', () => {
    expect(successionRank(['a', 'b'], 'a', 'a')).toBe(2 + SUCCESSION_LIST_LENGTH);
    expect(successionRank(['b'], 'a', 'a')).toBeGreaterThan(successionRank(['b'], 'late', 'a'));
  });

  it('queues a candidate missing from the list behind it, spread over a few slots', () => {
    const ranks = Array.from({ length: 64 }, (_, i) => successionRank(['a', 'b'], `late-${i}`));
    ranks.forEach((rank) => expect(rank).toBeGreaterThanOrEqual(2));
    ranks.forEach((rank) => expect(rank).toBeLessThan(2 + SUCCESSION_LIST_LENGTH));
    expect(new Set(ranks).size).toBeGreaterThan(SUCCESSION_LIST_LENGTH / 2);
    expect(successionRank(undefined, 'late-1')).toBe(successionRank([], 'late-1'));
  });
});

describe('the value a holder writes', () => {
  it('round-trips, and marks a release', () => {
    const value = {
      instanceId: 'a',
      metadata: { zone: 'x' },
      since: '2026-01-01T00:00:00.000Z',
      releasedAt: '2026-01-01T00:01:00.000Z',
    };
    expect(decodeLeaderValue(encodeLeaderValue(value))).toEqual(value);
  });

  it('treats a value written by another tool as an unknown holder', () => {
    expect(decodeLeaderValue('plain text')).toBeNull();
    expect(decodeLeaderValue(null)).toBeNull();
  });
});
