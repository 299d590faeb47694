// The signal a fire receives aborts when this instance stops owning the job: the runner stops, or
// its leadership ends.
import type { FireContext } from '../../../lib/scheduler/cluster-job';
import { SchedulerWorld, at } from './scheduler-world';

describe("a fire's signal", () => {
  let world: SchedulerWorld;
  beforeEach(() => {
    world = new SchedulerWorld();
  });
  afterEach(() => world.dispose());

  /** Runs until its signal aborts; records the reason. */
  const untilAborted =
    (reasons: string[]) =>
    ({ signal }: FireContext): Promise<void> =>
      new Promise((resolve) =>
        signal.addEventListener('abort', () => {
          reasons.push((signal.reason as Error).message);
          resolve();
        }),
      );

  it('aborts when the runner stops, and stop waits for the fire to end', async () => {
    const reasons: string[] = [];
    const a = await world.instance('a');
    await world.lead(a);
    const runner = world.run(a, {}, untilAborted(reasons));
    await world.until(at(6));
    expect(reasons).toEqual([]);
    await runner.stop();
    expect(reasons).toEqual(['the job runner stopped']);
    expect(world.events.filter((event) => event.kind === 'ended')).toHaveLength(1);
  });

  it('aborts when the leadership ends', async () => {
    const reasons: string[] = [];
    const a = await world.instance('a');
    await world.lead(a);
    world.run(a, {}, untilAborted(reasons));
    await world.until(at(6));
    a.leadership.end();
    await world.until(at(6.1));
    expect(reasons).toEqual(['this instance no longer leads']);
    expect(world.record()?.run?.state).toBe('done');
  });
});
