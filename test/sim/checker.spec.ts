import {
  checkFencing,
  checkHandoffs,
  checkLoad,
  checkPublished,
  checkSafety,
  checkTokens,
  type History,
} from './checker';

const history = (overrides: Partial<History>): History => ({
  intervals: [],
  requests: new Map(),
  wipes: [],
  tokenIssuedWithinMs: 0,
  liveness: null,
  handoffs: [],
  maxRequestsPerSecond: 10,
  leftovers: [],
  ...overrides,
});

describe('the checker over a fleet whose processes run several elections', () => {
  it('reports two processes acting at once on the same key', () => {
    const violations = checkSafety(
      history({
        intervals: [
          { process: 'c1.1', fencingToken: 5, from: 0, to: 100, key: 'other' },
          { process: 'c2.1', fencingToken: 9, from: 50, to: 150, key: 'other' },
        ],
      }),
    );

    expect(violations.map((v) => v.rule)).toEqual(['safety']);
  });

  it('lets two processes lead different keys at the same time', () => {
    const violations = checkSafety(
      history({
        intervals: [
          { process: 'c1.1', fencingToken: 5, from: 0, to: 100 },
          { process: 'c2.1', fencingToken: 9, from: 50, to: 150, key: 'other' },
        ],
      }),
    );

    expect(violations).toEqual([]);
  });

  it('orders tokens per key: a smaller token on another key is no step back', () => {
    const violations = checkTokens(
      history({
        intervals: [
          { process: 'c1.1', fencingToken: 50, from: 0, to: 100 },
          { process: 'c2.1', fencingToken: 7, from: 200, to: 300, key: 'other' },
          { process: 'c3.1', fencingToken: 40, from: 400, to: 500 },
        ],
      }),
    );

    expect(violations.map((v) => v.message)).toEqual([
      'token went from 50 (c1.1, first act 0.000s) to 40 (c3.1, first act 0.400s)',
    ]);
  });

  it('owes a handoff on the main key only: another key’s leader acting is no successor', () => {
    const violations = checkHandoffs(
      history({
        intervals: [{ process: 'c2.1', fencingToken: 9, from: 1_010, to: 1_100, key: 'other' }],
        handoffs: [{ at: 1_000, from: 'c1.1', withinMs: 100 }],
      }),
    );

    expect(violations.map((v) => v.rule)).toEqual(['handoff']);
  });

  it('counts a resigner’s own action as the next leader’s only when it may come back first, and only after its pause', () => {
    const judge = (mayReturnAfterMs: number | undefined, from: number) =>
      checkHandoffs(
        history({
          intervals: [{ process: 'c1.1', fencingToken: 9, from, to: from + 100 }],
          handoffs: [{ at: 1_000, from: 'c1.1', withinMs: 2_000, mayReturnAfterMs }],
        }),
      ).map((v) => v.rule);

    expect(judge(undefined, 1_990)).toEqual(['handoff']);
    expect(judge(890, 1_990)).toEqual([]);
    // Back before its pause ended: no successor's action.
    expect(judge(890, 1_500)).toEqual(['handoff']);
  });

  it('judges each process’s load against its own bound when one is given', () => {
    const burst = Array.from({ length: 15 }, (_, i) => i * 10);
    const violations = checkLoad(
      history({
        requests: new Map([
          ['c1.1', burst],
          ['c2.1', burst],
        ]),
        maxRequestsPerSecond: (process) => (process === 'c1.1' ? 20 : 10),
      }),
    );

    expect(violations.map((v) => v.message)).toEqual([
      'c2.1 sent 15 requests in one second from 0.000s (bound 10)',
    ]);
  });
});

describe('the published-state rule over a process whose clocks stood', () => {
  const cutOff = (clockStops: History['clockStops']): History =>
    history({
      clockStops,
      published: {
        // Named a leader until 8.3 s; cut off at 2 s, its first request failed at 2.3 s.
        runs: [{ process: 'c2.1', leader: 'c2', token: 23, known: true, from: 0, to: 8_300 }],
        outages: [{ process: 'c2.1', from: 2_000, failedAt: 2_300, to: 8_400 }],
        unknownWithinMs: 3_000,
        settleMs: 10_000,
      },
    });

  it('reports a cut-off process that names a leader past the bound', () => {
    expect(checkPublished(cutOff([])).map((v) => v.rule)).toEqual(['published-state']);
  });

  it('counts the bound on the process’s clock: a suspend within it does not count', () => {
    const suspended = [{ process: 'c2.1', kind: 'suspend' as const, from: 3_700, to: 8_000 }];

    expect(checkPublished(cutOff(suspended))).toEqual([]);
  });
});

describe('the fencing rule across a wiped agent', () => {
  // Seed 972: c6.1 (token 24, term from 8.912 s) was suspended past its lease; c5.2's term (token 38)
  // wrote at 15.666 s; the agent restarted wiped at 17.326 s and reset the sink; c6.1 resumed at
  // 20.21 s and its write came before it saw its deadline. The reset sink had nothing to refuse it by.
  it('does not hold against a reset sink a write it accepted from a term older than one it forgot', () => {
    const violations = checkFencing(
      history({
        wipes: [17_326],
        sinkWrites: [
          { process: 'c6.1', fencingToken: 24, termBegan: 8_912, at: 9_000, accepted: true },
          { process: 'c5.2', fencingToken: 38, termBegan: 15_666, at: 15_666, accepted: true },
          { process: 'c6.1', fencingToken: 24, termBegan: 8_912, at: 20_210, accepted: true },
        ],
      }),
    );
    expect(violations).toEqual([]);
  });

  it('still reports a write of an older term accepted after a newer term wrote, with no wipe between', () => {
    const violations = checkFencing(
      history({
        wipes: [5_000],
        sinkWrites: [
          { process: 'c6.1', fencingToken: 24, termBegan: 8_912, at: 9_000, accepted: true },
          { process: 'c5.2', fencingToken: 38, termBegan: 15_666, at: 15_666, accepted: true },
          { process: 'c6.1', fencingToken: 24, termBegan: 8_912, at: 20_210, accepted: true },
        ],
      }),
    );
    expect(violations.map((v) => v.rule)).toEqual(['fencing']);
  });
});

describe('the tokens rule and a VM pause', () => {
  // Seed 2377: c2.1 acquired (token 17) and waited for its act time when its VM paused with both
  // clocks stopped; c1.1 took over (token 22); c2.1 resumed, its clocks showing no pause, and began
  // the term of its old hold. The fenced sink refused its writes: the fencing token's job.
  const resumedOnOldHold = (vmPauseActsWithinMs: number): History =>
    history({
      intervals: [
        { process: 'c1.1', fencingToken: 22, from: 8_457, to: 12_000 },
        { process: 'c2.1', fencingToken: 17, from: 10_922, to: 11_500 },
      ],
      clockStops: [{ process: 'c2.1', kind: 'vm-pause', from: 3_437, to: 10_612 }],
      vmPauseActsWithinMs,
    });

  it('does not count a term begun on a lease from before a VM pause as a successor', () => {
    expect(checkTokens(resumedOnOldHold(3_300))).toEqual([]);
  });

  it('still counts it once the lease from before the pause has run out', () => {
    expect(checkTokens(resumedOnOldHold(100)).map((v) => v.rule)).toEqual(['tokens']);
  });
});
