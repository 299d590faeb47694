// Fires that had no owner on time (every leader gone during a failover) follow the job's misfire
// policy; every fire not run is logged and counted with its reason, never dropped in silence.
import type { MisfirePolicy } from '../../../lib/scheduler/misfire-plan';
import { SchedulerWorld, at, type Instance } from './scheduler-world';

describe('fires missed during a failover', () => {
  let world: SchedulerWorld;
  beforeEach(() => {
    world = new SchedulerWorld();
  });
  afterEach(() => world.dispose());

  /** A runs 5 s and crashes at 6 s; nobody leads until B at 27 s: 10, 15, 20 and 25 s are missed. */
  async function failover(misfire: MisfirePolicy): Promise<Instance> {
    const a = await world.instance('a');
    const b = await world.instance('b');
    world.run(a, { misfire });
    world.run(b, { misfire });
    await world.lead(a);
    await world.until(at(6));
    world.crash(a);
    await world.until(at(27));
    await world.lead(b);
    await world.until(at(31));
    return b;
  }

  it('runs the latest missed fire once, late, under run-once, and skips and counts the earlier ones', async () => {
    await failover('run-once');
    expect(world.started().map(({ fire, by }) => [fire, by])).toEqual([
      [5, 'a'],
      [25, 'b'],
      [30, 'b'],
    ]);
    expect(world.skipped()).toEqual([
      { fire: 10, reason: 'misfire', count: 1 },
      { fire: 15, reason: 'misfire', count: 1 },
      { fire: 20, reason: 'misfire', count: 1 },
    ]);
  });

  it('skips and counts every missed fire under skip, and runs the next one on time', async () => {
    await failover('skip');
    expect(world.started().map(({ fire, by }) => [fire, by])).toEqual([
      [5, 'a'],
      [30, 'b'],
    ]);
    expect(world.skipped().map(({ fire, reason }) => [fire, reason])).toEqual([
      [10, 'misfire'],
      [15, 'misfire'],
      [20, 'misfire'],
      [25, 'misfire'],
    ]);
  });

  it('catches up the latest n missed fires within the window, oldest first, and skips the rest', async () => {
    await failover({ catchUp: 2, withinMs: 60_000 });
    expect(world.started().map(({ fire, by }) => [fire, by])).toEqual([
      [5, 'a'],
      [20, 'b'],
      [25, 'b'],
      [30, 'b'],
    ]);
    expect(world.skipped().map(({ fire, reason }) => [fire, reason])).toEqual([
      [10, 'misfire'],
      [15, 'misfire'],
    ]);
  });

  it('catches up only the fires within the window', async () => {
    await failover({ catchUp: 10, withinMs: 8_000 });
    expect(world.started().map(({ fire }) => fire)).toEqual([5, 20, 25, 30]);
    expect(world.skipped().map(({ fire }) => fire)).toEqual([10, 15]);
  });

  it('logs each skipped fire with the job, the fire time and the reason', async () => {
    const b = await failover('skip');
    const skips = b.logs.lines.filter((line) => line.includes('skipped'));
    expect(skips).toEqual(
      [10, 15, 20, 25].map(
        (second) =>
          `b warn Job "report": fire ${new Date(at(second)).toISOString()} skipped (misfire: no owner on time, policy skips it)`,
      ),
    );
  });
});
