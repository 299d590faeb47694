// A fire whose previous run still runs anywhere is skipped and counted (overlap: 'skip'); a run
// whose owner died mid-run is recorded as orphaned and, unless asked, not run again.
import type { FireContext } from '../../../lib/scheduler/cluster-job';
import { SchedulerWorld, at } from './scheduler-world';

describe('overlapping runs', () => {
  let world: SchedulerWorld;
  beforeEach(() => {
    world = new SchedulerWorld();
  });
  afterEach(() => world.dispose());

  /** The first fire's run lasts until the spec releases it; the others end at once. */
  const firstRunBlocks = (): ((context: FireContext) => Promise<void> | void) => {
    let first = true;
    return () => {
      if (!first) return;
      first = false;
      return world.blocker.wait();
    };
  };

  it('skips and counts a fire whose previous run still runs on this instance', async () => {
    const a = await world.instance('a');
    await world.lead(a);
    world.run(a, {}, firstRunBlocks());
    await world.until(at(12));
    world.blocker.releaseAll();
    await world.until(at(16));
    expect(world.started().map(({ fire }) => fire)).toEqual([5, 15]);
    expect(world.skipped()).toEqual([{ fire: 10, reason: 'overlap', count: 1 }]);
    expect(world.record()?.lastSkip).toEqual({ fireTime: at(10), reason: 'overlap', by: 'a' });
  });

  it('logs and counts a skip whose write was applied but whose answer was lost (found by the simulator, seed 33)', async () => {
    const a = await world.instance('a');
    await world.lead(a);
    world.run(a, {}, firstRunBlocks());
    await world.until(at(9.9));
    // The skip of 10 s reaches Consul; its answer does not come back.
    a.link.loseNextClaimAnswer = true;
    await world.until(at(12));
    world.blocker.releaseAll();
    await world.until(at(16));
    expect(world.record()?.decidedThrough).toBeGreaterThanOrEqual(at(15));
    expect(world.skipped()).toEqual([{ fire: 10, reason: 'overlap', count: 1 }]);
    expect(
      a.logs.lines.some((line) => line.includes('00:00:10.000Z') && line.includes('overlap')),
    ).toBe(true);
  });

  it('logs and counts the missed fires a claim decided when the claim was applied but its answer lost', async () => {
    const a = await world.instance('a');
    const b = await world.instance('b');
    await world.lead(a);
    world.run(a);
    await world.until(at(6));
    // A dies; B leads at 16.5 s: 10 and 15 were missed, 15 is run late (run-once) and 10 skipped,
    // in one claim whose answer is lost.
    world.crash(a);
    await world.until(at(16.5));
    await world.lead(b);
    b.link.loseNextClaimAnswer = true;
    world.run(b);
    await world.until(at(19));
    expect(world.started().map(({ fire, by }) => [fire, by])).toEqual([
      [5, 'a'],
      [15, 'b'],
    ]);
    expect(world.skipped()).toEqual([{ fire: 10, reason: 'misfire', count: 1 }]);
  });

  it('skips and counts a fire whose previous run still runs on the instance that led before a graceful handoff', async () => {
    const a = await world.instance('a');
    const b = await world.instance('b');
    await world.lead(a);
    world.run(a, {}, firstRunBlocks());
    world.run(b);
    await world.until(at(7));
    // A hands over; its run of 5 s ignores its aborted signal and goes on, its session alive.
    await world.stepDown(a);
    await world.lead(b);
    await world.until(at(12));
    world.blocker.releaseAll();
    await world.until(at(16));
    expect(world.started().map(({ fire, by }) => [fire, by])).toEqual([
      [5, 'a'],
      [15, 'b'],
    ]);
    expect(world.skipped()).toEqual([{ fire: 10, reason: 'overlap', count: 1 }]);
  });

  it('records the outcome of a run that ended after a handoff even when its first write failed, so the next leader does not skip its fires for ever', async () => {
    const a = await world.instance('a');
    const b = await world.instance('b');
    await world.lead(a);
    world.run(a, {}, firstRunBlocks());
    world.run(b);
    await world.until(at(7));
    await world.stepDown(a);
    await world.lead(b);
    // A's run ends while A cannot reach Consul: its outcome is not written.
    a.link.down = true;
    world.blocker.releaseAll();
    await world.until(at(8));
    a.link.down = false;
    await world.until(at(21));
    expect(world.started().map(({ fire, by }) => [fire, by])).toEqual([
      [5, 'a'],
      [10, 'b'],
      [15, 'b'],
      [20, 'b'],
    ]);
  });

  it('takes a previous owner whose session its token cannot see as alive, and says which ACL rule is missing, instead of orphaning its run', async () => {
    const a = await world.instance('a');
    const b = await world.instance('b');
    await world.lead(a);
    world.run(a, {}, firstRunBlocks());
    world.run(b);
    await world.until(at(7));
    await world.stepDown(a);
    // The instances' token may not read sessions: Consul answers as if none existed.
    world.model.deny('', ['session:read']);
    await world.lead(b);
    await world.until(at(11));
    expect(world.events.filter((event) => event.kind === 'orphaned')).toEqual([]);
    expect(world.skipped()).toEqual([{ fire: 10, reason: 'overlap', count: 1 }]);
    expect(b.logs.lines.join('\n')).toContain('session_prefix "" { policy = "read" }');
  });

  it('runs a fire beside the previous run under overlap allow', async () => {
    const a = await world.instance('a');
    await world.lead(a);
    world.run(a, { overlap: 'allow' }, firstRunBlocks());
    await world.until(at(11));
    expect(world.started().map(({ fire }) => fire)).toEqual([5, 10]);
    expect(world.skipped()).toEqual([]);
  });
});

describe('orphaned runs', () => {
  let world: SchedulerWorld;
  beforeEach(() => {
    world = new SchedulerWorld();
  });
  afterEach(() => world.dispose());

  /** A crashes at 6 s in the middle of the run of 5 s; B leads from 7 s. */
  async function crashMidRun(orphans: 'record' | 'rerun'): Promise<void> {
    const a = await world.instance('a');
    const b = await world.instance('b');
    await world.lead(a);
    world.run(a, { orphans }, () => world.blocker.wait());
    world.run(b, { orphans });
    await world.until(at(6));
    world.crash(a);
    await world.until(at(7));
    await world.lead(b);
    await world.until(at(11));
  }

  it('records a run whose owner died as orphaned and does not run its fire again', async () => {
    await crashMidRun('record');
    const [first] = world.started();
    expect(world.events.filter((event) => event.kind === 'orphaned')).toEqual([
      {
        kind: 'orphaned',
        job: 'report',
        fireTime: at(5),
        token: first.token,
        owner: 'a',
        instanceId: 'b',
      },
    ]);
    expect(world.started().map(({ fire, by }) => [fire, by])).toEqual([
      [5, 'a'],
      [10, 'b'],
    ]);
  });

  it('runs an orphaned fire again with the next attempt and a larger token when asked to', async () => {
    await crashMidRun('rerun');
    const started = world.started();
    expect(started.map(({ fire, by, attempt }) => [fire, by, attempt])).toEqual([
      [5, 'a', 1],
      [5, 'b', 2],
      [10, 'b', 1],
    ]);
    expect(started[1].token).toBeGreaterThan(started[0].token);
  });
});
