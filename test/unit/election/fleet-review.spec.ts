// Adversarial review of issue 18's fix (a holder writes the lease its successor owes: the one it
// waits out until its term begins, its own D after). Instances of several configs share the key; an
// old holder cut off from Consul acts for up to its D after its last confirmation, and the faults
// below try to make a later holder act before that. On the virtual clock and the Consul model, each
// candidate behind a link that can be cut off, lose or delay answers.
import {
  LeaderElection,
  type Clock,
  type ElectionOptions,
  type TimerHandle,
} from '../../../lib/election';
import { memoryLogger } from '../../support/election-kit';
import { writingTxn, type FaultyLink } from '../../support/faulty-link';
import { modelPort } from '../../support/model-consul-client';
import { useModelElections } from '../../support/model-elections';
import type { VirtualClock } from '../../support/virtual-clock';
import { VIRTUAL_KEY as KEY } from '../../support/virtual-elections';

/** The old config: D = 4 s (its lock-delay must be at least D). */
const OLD: Partial<ElectionOptions> = { leaseDuration: 4_000, lockDelay: '4s' };
/** The new config: D = 1 s, lock-delay = D. */
const NEW: Partial<ElectionOptions> = { leaseDuration: 1_000, lockDelay: '1s' };

/**
 * One machine's clocks on the shared virtual time, running `rate` times as fast (both its monotonic
 * and its wall clock, and its timers with them): clock-rate differences between machines.
 */
class RatedClock implements Clock {
  constructor(
    private readonly base: VirtualClock,
    private readonly rate: number,
  ) {}

  now(): number {
    return this.base.now() * this.rate;
  }

  wallNow(): number {
    return Date.UTC(2026, 0, 1) + this.now();
  }

  setTimer(callback: () => void, delayMs: number): TimerHandle {
    return this.base.setTimer(callback, delayMs / this.rate);
  }

  clearTimer(handle: TimerHandle): void {
    this.base.clearTimer(handle);
  }
}

/**
 * One process's clock on the shared virtual time whose timers can be held (a stop-the-world pause,
 * SIGSTOP): time runs on, but no timer of the process fires until the pause ends.
 */
class PausableClock implements Clock {
  private pausedUntil = 0;

  constructor(private readonly base: VirtualClock) {}

  /** No timer of this process fires for the next `ms`. */
  pause(ms: number): void {
    this.pausedUntil = this.base.now() + ms;
  }

  now(): number {
    return this.base.now();
  }

  wallNow(): number {
    return this.base.wallNow();
  }

  setTimer(callback: () => void, delayMs: number): TimerHandle {
    const handle: { current: TimerHandle } = { current: {} };
    const fire = (): void => {
      const heldFor = this.pausedUntil - this.base.now();
      if (heldFor > 0) handle.current = this.base.setTimer(fire, heldFor);
      else callback();
    };
    handle.current = this.base.setTimer(fire, delayMs);
    return handle;
  }

  clearTimer(handle: TimerHandle): void {
    this.base.clearTimer((handle as { current: TimerHandle }).current);
  }
}

describe('adversarial review of the lease a holder advertises (virtual clock, Consul model)', () => {
  const world = useModelElections({ successionStep: 100 });
  const { link, elect, until, valueInKey, cutRightAfterConfirmation, overlapOf } = world;

  /**
   * `old` (D = 4 s) leads, `n1` then `n2` (D = 1 s) follow and are named; old is cut off right
   * after a confirmation and the key deleted: n1 takes the absent key and waits out old's lease.
   */
  const oldCutOffAndKeyDeleted = async () => {
    const oldLink = link();
    const old = elect('old', oldLink, OLD);
    old.start();
    await until(() => old.isLeader(), 10_000);
    const n1Link = link();
    const n1 = elect('n1', n1Link, NEW);
    const n2Link = link();
    const n2 = elect('n2', n2Link, NEW);
    n1.start();
    await world.clock.advance(200);
    n2.start();
    await until(() => valueInKey()?.successors?.length === 2, 10_000);
    await cutRightAfterConfirmation(old, oldLink);
    world.model.kvDelete(KEY);
    await until(() => valueInKey()?.instanceId === 'n1', 10_000);
    return { old, oldLink, n1, n1Link, n2, n2Link };
  };
  /** n1's successors rewrite once old's check failed (old leaves the catalog), before n1 acts. */
  const oldLeftTheSuccessors = async (n1: LeaderElection): Promise<void> => {
    await until(() => valueInKey()?.successors?.join() === 'n2', 3_000);
    expect(n1.isLeader()).toBe(false);
  };

  it('never leads beside a cut-off old holder after an operator deleted the key and imported an older value that names a shorter lease', async () => {
    const oldLink = link();
    const old = elect('old', oldLink, OLD);
    old.start();
    await until(() => old.isLeader(), 10_000);
    const n1 = elect('n1', link(), NEW);
    n1.start();
    await until(() => valueInKey()?.successors?.[0] === 'n1', 10_000);
    await cutRightAfterConfirmation(old, oldLink);
    // A backup from before the deploy of the old config: a hand-back of a holder of D = 1 s.
    world.model.kvDelete(KEY);
    world.model.kvPut(
      KEY,
      JSON.stringify({
        instanceId: 'n1',
        metadata: {},
        since: '2025-12-01T00:00:00.000Z',
        handedBackAt: '2025-12-01T00:00:01.000Z',
        leaseMs: 1_000,
      }),
    );
    const overlap = await overlapOf({ old, n1 }, 6_000);
    expect(n1.isLeader()).toBe(true);
    expect(overlap).toEqual({ ms: 0, who: [] });
  });

  it('never leads beside a cut-off old holder after an operator deleted the key and imported a value without a lease', async () => {
    const oldLink = link();
    const old = elect('old', oldLink, OLD);
    old.start();
    await until(() => old.isLeader(), 10_000);
    const n1 = elect('n1', link(), NEW);
    n1.start();
    await until(() => valueInKey()?.successors?.[0] === 'n1', 10_000);
    await cutRightAfterConfirmation(old, oldLink);
    world.model.kvDelete(KEY);
    world.model.kvPut(
      KEY,
      JSON.stringify({ instanceId: 'old', metadata: {}, since: '2025-12-01T00:00:00.000Z' }),
    );
    const overlap = await overlapOf({ old, n1 }, 6_000);
    expect(n1.isLeader()).toBe(true);
    expect(overlap).toEqual({ ms: 0, who: [] });
  });

  it("never leads beside a cut-off old holder after an operator's plain PUT over a new holder that was waiting out the old lease, then cut off", async () => {
    const { old, n1, n1Link, n2 } = await oldCutOffAndKeyDeleted();
    await world.clock.advance(50);
    // The operator "fixes" the key by hand: a plain PUT keeps n1's session; n1 is cut off before
    // it can write its own value back, and its session goes with its check.
    world.model.kvPut(KEY, JSON.stringify({ ...valueInKey(), leaseMs: 1_000 }));
    n1Link.cut = true;
    const overlap = await overlapOf({ old, n1, n2 }, 8_000);
    expect(n2.isLeader()).toBe(true);
    expect(overlap).toEqual({ ms: 0, who: [] });
  });

  it('never leads beside a cut-off old holder after the agent restarted empty while a new holder waited out the old lease', async () => {
    const { old, n1, n2 } = await oldCutOffAndKeyDeleted();
    await world.clock.advance(50);
    // The server forgets everything: the key, n1's session, the lock-delays, the indexes.
    world.model.restart(true);
    const overlap = await overlapOf({ old, n1, n2 }, 8_000);
    expect(n1.isLeader() || n2.isLeader()).toBe(true);
    expect(overlap).toEqual({ ms: 0, who: [] });
  });

  it('never leads beside a cut-off old holder after a new holder adopted its own acquire (answer lost) and was cut off before acting', async () => {
    const oldLink = link();
    const old = elect('old', oldLink, OLD);
    old.start();
    await until(() => old.isLeader(), 10_000);
    const n1Link = link();
    const n1 = elect('n1', n1Link, NEW);
    const n2 = elect('n2', link(), NEW);
    n1.start();
    await world.clock.advance(200);
    n2.start();
    await until(() => valueInKey()?.successors?.length === 2, 10_000);
    await cutRightAfterConfirmation(old, oldLink);
    // n1's acquire of the deleted key goes through, its answer lost: n1 adopts the hold it finds.
    let acquires = 0;
    n1Link.fate = (request) =>
      writingTxn(request) && acquires++ === 0 ? { answerLost: true } : null;
    world.model.kvDelete(KEY);
    await until(() => valueInKey()?.instanceId === 'n1', 10_000);
    await until(
      () => n1.state.leader?.instanceId === 'n1' && n1Link.count('Transaction.create') > 2,
      10_000,
    );
    expect(n1.isLeader()).toBe(false);
    expect(valueInKey()?.leaseMs).toBe(4_000);
    n1Link.cut = true;
    world.model.kvDelete(KEY);
    const overlap = await overlapOf({ old, n1, n2 }, 8_000);
    expect(n2.isLeader()).toBe(true);
    expect(overlap).toEqual({ ms: 0, who: [] });
  });

  it('never leads beside a cut-off old holder after a new holder resigned before acting', async () => {
    const { old, n1, n2 } = await oldCutOffAndKeyDeleted();
    await world.clock.advance(100);
    void n1.resign({ pause: 10_000 });
    const overlap = await overlapOf({ old, n1, n2 }, 8_000);
    expect(n2.isLeader()).toBe(true);
    expect(overlap).toEqual({ ms: 0, who: [] });
  });

  it('never leads beside a cut-off old holder after a new holder stopped before acting', async () => {
    const { old, n1, n2 } = await oldCutOffAndKeyDeleted();
    await world.clock.advance(100);
    void n1.stop();
    const overlap = await overlapOf({ old, n1, n2 }, 8_000);
    expect(n2.isLeader()).toBe(true);
    expect(overlap).toEqual({ ms: 0, who: [] });
  });

  it('never leads beside a cut-off old holder when the key is deleted right before a new holder acts, and its lease rewrite is refused', async () => {
    const { old, n1, n1Link, n2 } = await oldCutOffAndKeyDeleted();
    // n1 acts about 4.04 s after its acquire was answered; the key is deleted just before and n1
    // is cut off, so its rewrite to its own lease never lands.
    await world.clock.advance(3_900);
    expect(n1.isLeader()).toBe(false);
    world.model.kvDelete(KEY);
    n1Link.cut = true;
    const overlap = await overlapOf({ old, n1, n2 }, 8_000);
    expect(n2.isLeader()).toBe(true);
    expect(overlap).toEqual({ ms: 0, who: [] });
  });

  it('never leads beside a cut-off holder across a chain of three configs (4 s, then 1 s, then 2 s), and the key ends at the last lease', async () => {
    const { old, n1, n1Link, n2 } = await oldCutOffAndKeyDeleted();
    const m = elect('m', link(), { leaseDuration: 2_000, lockDelay: '2s' });
    m.start();
    // n1 dies while it waits out old's lease; whoever takes the key next inherits it.
    await world.clock.advance(50);
    n1Link.cut = true;
    const overlap = await overlapOf({ old, n1, n2, m }, 10_000);
    expect(overlap).toEqual({ ms: 0, who: [] });
    const leader = [n2, m].find((election) => election.isLeader())!;
    expect(leader).toBeDefined();
    await world.clock.advance(500);
    expect(valueInKey()?.leaseMs).toBe(leader === m ? 2_000 : 1_000);
  });

  it('owes only its own lease after its own term began, so a lone new holder whose key is deleted leads again within its own lease', async () => {
    const oldLink = link();
    const old = elect('old', oldLink, OLD);
    old.start();
    await until(() => old.isLeader(), 10_000);
    const n1 = elect('n1', link(), NEW);
    n1.start();
    await until(() => valueInKey()?.successors?.[0] === 'n1', 10_000);
    // The last instance of the old config is retired: it stops for good.
    await old.stop();
    await until(() => n1.isLeader(), 10_000);
    await world.clock.advance(2_000);
    world.model.kvDelete(KEY);
    const deletedAt = world.clock.now();
    await until(() => !n1.isLeader(), 1_000);
    await until(() => n1.isLeader(), 10_000);
    // n1's lease (1.01 s) after the answer to its acquire, not the 4.04 s of a config long gone.
    expect(world.clock.now() - deletedAt).toBeLessThan(2_000);
  });

  it('never leads beside a cut-off old holder whose clock runs slow, after a new holder whose clock runs fast (0.9 % apart)', async () => {
    const electOn = (
      id: string,
      rate: number,
      electionLink: FaultyLink,
      options: Partial<ElectionOptions>,
    ) =>
      new LeaderElection({
        ...world.options(id, options),
        clock: new RatedClock(world.clock, rate),
        consulPort: modelPort(world.model, electionLink),
        logger: memoryLogger(id),
      });
    const oldLink = link();
    const old = electOn('old', 0.996, oldLink, OLD);
    const n1Link = link();
    const n1 = electOn('n1', 1.005, n1Link, NEW);
    const n2 = electOn('n2', 1.005, link(), NEW);
    try {
      old.start();
      await until(() => old.isLeader(), 10_000);
      n1.start();
      await world.clock.advance(200);
      n2.start();
      await until(() => valueInKey()?.successors?.length === 2, 10_000);
      await cutRightAfterConfirmation(old, oldLink);
      world.model.kvDelete(KEY);
      await until(() => valueInKey()?.instanceId === 'n1', 10_000);
      // n1 acts, tells the key it owes its own lease only, and is cut off; the key is deleted.
      await until(() => n1.isLeader(), 10_000);
      await until(() => valueInKey()?.leaseMs === 1_000, 1_000);
      n1Link.cut = true;
      world.model.kvDelete(KEY);
      const overlap = await overlapOf({ old, n1, n2 }, 6_000);
      expect(n2.isLeader()).toBe(true);
      expect(overlap).toEqual({ ms: 0, who: [] });
    } finally {
      await Promise.race([
        Promise.all([old, n1, n2].map((e) => e.stop())),
        world.clock.advance(30_000),
      ]);
    }
  });

  it('never leads beside a cut-off holder of its own instance id that was itself waiting out the old lease (a pod restarted twice)', async () => {
    const oldLink = link();
    const old = elect('old', oldLink, OLD);
    old.start();
    await until(() => old.isLeader(), 10_000);
    const firstLink = link();
    const first = elect('pod-0', firstLink, NEW);
    first.start();
    await until(() => valueInKey()?.successors?.[0] === 'pod-0', 10_000);
    await cutRightAfterConfirmation(old, oldLink);
    world.model.kvDelete(KEY);
    await until(() => valueInKey()?.instanceId === 'pod-0', 10_000);
    // pod-0 restarts (its first process cut off, not dead) while it waits out old's lease.
    const second = elect('pod-0', link(), NEW);
    second.start();
    await world.clock.advance(300);
    firstLink.cut = true;
    world.model.kvDelete(KEY);
    const overlap = await overlapOf({ old, first, second }, 8_000);
    expect(second.isLeader()).toBe(true);
    expect(overlap).toEqual({ ms: 0, who: [] });
  });

  it('rewrites its value once per term to advertise its own lease, and not at all when it owes the lease it inherited', async () => {
    const { n1, n1Link, n2, n2Link } = await oldCutOffAndKeyDeleted();
    await oldLeftTheSuccessors(n1);
    const acquired = n1Link.writes;
    await until(() => n1.isLeader(), 10_000);
    await world.clock.advance(10_000);
    expect(n1.isLeader()).toBe(true);
    expect(valueInKey()?.leaseMs).toBe(1_000);
    expect(n1Link.writes - acquired).toBe(1);
    // n1 hands over to n2 (same config): n2 inherits 1 s and owes 1 s, so its acquire is all it writes.
    const n2Before = n2Link.writes;
    await Promise.race([n1.resign({ pause: 20_000 }), world.clock.advance(1_000)]);
    await until(() => n2.isLeader(), 10_000);
    await world.clock.advance(10_000);
    expect(n2.isLeader()).toBe(true);
    expect(n2Link.writes - n2Before).toBe(1);
  });

  it('sends its lease rewrite once when Consul carries it out but the answer is lost', async () => {
    const { n1, n1Link } = await oldCutOffAndKeyDeleted();
    await oldLeftTheSuccessors(n1);
    let lost = 0;
    n1Link.fate = (request) => (writingTxn(request) && lost++ === 0 ? { answerLost: true } : null);
    const acquired = n1Link.writes;
    await until(() => n1.isLeader(), 10_000);
    await world.clock.advance(10_000);
    expect(valueInKey()?.leaseMs).toBe(1_000);
    expect(n1Link.writes - acquired).toBe(1);
  });

  it('sends its lease rewrite again, with the backoff, only until it lands when the request is lost', async () => {
    const { n1, n1Link } = await oldCutOffAndKeyDeleted();
    await oldLeftTheSuccessors(n1);
    let lost = 0;
    n1Link.fate = (request) => (writingTxn(request) && lost++ < 3 ? 'request-lost' : null);
    const acquired = n1Link.writes;
    await until(() => n1.isLeader(), 10_000);
    await world.clock.advance(10_000);
    expect(valueInKey()?.leaseMs).toBe(1_000);
    expect(n1Link.writes - acquired).toBe(4);
  });

  it('ends with its own lease and the new successors when a successors rewrite is still on its way as its term begins', async () => {
    const { n1, n1Link } = await oldCutOffAndKeyDeleted();
    // Just before n1 acts a third candidate joins; from then on n1's writes reach Consul only after
    // its requestTimeout (answers lost): the successors rewrite n3 triggers and the lease rewrite
    // race each other, each conditioned on the index the other may have changed.
    const acquiredAt = world.clock.now();
    await world.clock.advance(3_700);
    expect(n1.isLeader()).toBe(false);
    n1Link.fate = (request) => (writingTxn(request) ? { late: 400 } : null);
    const n3 = elect('n3', link(), NEW);
    n3.start();
    await until(() => n1.isLeader(), 10_000);
    expect(world.clock.now() - acquiredAt).toBeLessThan(4_500);
    const before = n1Link.writes;
    await world.clock.advance(10_000);
    n1Link.fate = null;
    await world.clock.advance(5_000);
    expect(valueInKey()?.leaseMs).toBe(1_000);
    expect(valueInKey()?.successors).toContain('n3');
    expect(n1Link.writes - before).toBeLessThan(10);
  });

  it.each([
    ['past its lease, so it never acts', 3_000, 'n2'],
    ['for less than its lease, so it acts late', 300, 'n1'],
  ])(
    'never leads beside a cut-off old holder when a new holder is paused right before its act time, %s',
    async (_what, pauseMs, leader) => {
      const oldLink = link();
      const old = elect('old', oldLink, OLD);
      old.start();
      await until(() => old.isLeader(), 10_000);
      const n1Clock = new PausableClock(world.clock);
      const n1 = new LeaderElection({
        ...world.options('n1', NEW),
        clock: n1Clock,
        consulPort: modelPort(world.model, link()),
        logger: memoryLogger('n1'),
      });
      const n2 = elect('n2', link(), NEW);
      try {
        n1.start();
        await world.clock.advance(200);
        n2.start();
        await until(() => valueInKey()?.successors?.length === 2, 10_000);
        await cutRightAfterConfirmation(old, oldLink);
        world.model.kvDelete(KEY);
        await until(() => valueInKey()?.instanceId === 'n1', 10_000);
        // n1 acts about 4.04 s after its acquire was answered: it stops the world 50 ms before.
        await world.clock.advance(3_950);
        expect(n1.isLeader()).toBe(false);
        n1Clock.pause(pauseMs);
        const overlap = await overlapOf({ old, n1, n2 }, 8_000);
        expect(overlap).toEqual({ ms: 0, who: [] });
        expect({ n1, n2 }[leader]!.isLeader()).toBe(true);
      } finally {
        await Promise.race([n1.stop(), world.clock.advance(30_000)]);
      }
    },
  );

  it('never leads beside a holder whose lease rewrite lands only after it stepped down at its deadline', async () => {
    const { old, n1, n1Link, n2 } = await oldCutOffAndKeyDeleted();
    await oldLeftTheSuccessors(n1);
    // From now on n1's writes reach Consul 1.5 s late, and once it acts its confirmations are
    // lost: it steps down at its deadline, and its lease rewrite lands after that, then its release.
    n1Link.fate = (request) =>
      writingTxn(request)
        ? { late: 1_500 }
        : request.name === 'Transaction.create' && n1.isLeader()
          ? 'request-lost'
          : null;
    await until(() => n1.isLeader(), 10_000);
    await until(() => !n1.isLeader(), 2_000);
    expect(valueInKey()?.leaseMs).toBe(4_000);
    const overlap = await overlapOf({ old, n1, n2 }, 8_000);
    expect(n2.isLeader()).toBe(true);
    expect(overlap).toEqual({ ms: 0, who: [] });
  });
});
