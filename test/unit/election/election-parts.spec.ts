import { Backoff } from '../../../lib/election/backoff';
import { describeDuration, parseDuration, toConsulDuration } from '../../../lib/election/duration';
import { Lease } from '../../../lib/election/lease';
import { decodeLeaderValue, encodeLeaderValue } from '../../../lib/election/leader-value';
import {
  SUCCESSION_LIST_LENGTH,
  successionRank,
  successorsOf,
} from '../../../lib/election/succession';

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
  it('runs D from the send time of the confirmation, not from its answer', () => {
    const lease = new Lease(1_000, 100);
    expect(lease.deadline).toBe(1_100);
    expect(lease.isValidAt(1_099)).toBe(true);
    expect(lease.isValidAt(1_100)).toBe(false);
  });

  it('is never shortened by a confirmation answered out of order', () => {
    const lease = new Lease(1_000, 100);
    lease.confirm(600);
    lease.confirm(400);
    expect(lease.deadline).toBe(1_600);
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
