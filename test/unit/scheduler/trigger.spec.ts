// ClusterScheduler.trigger(name) is JobRunner.trigger(): a manual fire at T = now, claimed under the
// leader's session like a scheduled one, so it keeps once-per-fire: one claim, one run, its own token.
import { SchedulerWorld, at } from './scheduler-world';

describe('a triggered fire', () => {
  let world: SchedulerWorld;
  beforeEach(() => {
    world = new SchedulerWorld();
  });
  afterEach(() => world.dispose());

  it('runs once at T = now with a larger token, and the schedule goes on around it', async () => {
    const a = await world.instance('a');
    await world.lead(a);
    const runner = world.run(a);
    await world.until(at(7));
    const triggered = runner.trigger();
    await world.until(at(7.5));
    const fire = await triggered;
    await world.until(at(11));
    expect(fire.fireTime.getTime()).toBe(at(7));
    expect(world.started().map(({ fire: t }) => t)).toEqual([5, 7, 10]);
    const tokens = world.started().map(({ token }) => token);
    expect(tokens).toEqual([...tokens].sort((x, y) => x - y));
    expect(tokens[1]).toBe(fire.fencingToken);
    expect(world.skipped()).toEqual([]);
  });

  it('is refused on an instance that does not lead', async () => {
    const a = await world.instance('a');
    const b = await world.instance('b');
    await world.lead(a);
    world.run(a);
    const runner = world.run(b);
    await world.until(at(6));
    await expect(runner.trigger()).rejects.toThrow(/does not lead/);
    await world.until(at(7));
    expect(world.started().map(({ fire, by }) => [fire, by])).toEqual([[5, 'a']]);
  });

  it("is refused while the previous run still runs and the overlap policy is 'skip'", async () => {
    const a = await world.instance('a');
    await world.lead(a);
    const runner = world.run(a, {}, () => world.blocker.wait());
    await world.until(at(6));
    const triggered = runner.trigger();
    const refused = expect(triggered).rejects.toThrow(/previous run still runs/);
    await world.until(at(7));
    await refused;
    world.blocker.releaseAll();
    await world.until(at(8));
    expect(world.started().map(({ fire }) => fire)).toEqual([5]);
  });

  it('whose claim answer is lost rejects, and the fire still runs once, from the record', async () => {
    const a = await world.instance('a');
    await world.lead(a);
    const runner = world.run(a);
    await world.until(at(6));
    a.link.loseNextClaimAnswer = true;
    const triggered = runner.trigger();
    const lost = expect(triggered).rejects.toThrow(/answer to the triggered fire's claim was lost/);
    await world.until(at(8));
    await lost;
    await world.until(at(11));
    expect(world.started().map(({ fire }) => fire)).toEqual([5, 6, 10]);
  });
});
