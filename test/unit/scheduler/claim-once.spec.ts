// Each (job, T) is claimed at most once in the cluster (docs/design/cluster-cron.md, "The safety
// argument"): two instances that both believe they lead race on one cas, and a deposed leader's
// late claim is refused by Consul; a claim whose answer is lost is read back, never sent again.
import { SchedulerWorld, at } from './scheduler-world';

describe('claiming a fire', () => {
  let world: SchedulerWorld;
  beforeEach(() => {
    world = new SchedulerWorld();
  });
  afterEach(() => world.dispose());

  it('runs each fire once on the leader, with the fire time as scheduled, not the time it started', async () => {
    const a = await world.instance('a');
    await world.lead(a);
    world.run(a);
    await world.until(at(16));
    expect(world.started().map(({ fire, by }) => [fire, by])).toEqual([
      [5, 'a'],
      [10, 'a'],
      [15, 'a'],
    ]);
    expect(world.contexts.map((context) => context.fireTime.getTime())).toEqual([
      at(5),
      at(10),
      at(15),
    ]);
  });

  it("claims a fire once when two instances believe they lead: the deposed leader's late claim is refused by its session check", async () => {
    const a = await world.instance('a');
    const b = await world.instance('b');
    await world.lead(a);
    world.run(a);
    world.run(b);
    await world.until(at(4.9));
    // A sends its claim of the fire at 5 s, and the claim is held on the way…
    a.link.holdTransactions = true;
    b.link.holdTransactions = true;
    await world.until(at(5));
    // …while A's session ends in Consul and B takes the key. A still believes it leads.
    world.model.sessionDestroy(a.session);
    await world.lead(b);
    await world.until(at(5.1));
    // A's claim arrives first, late: the record is as A read it, only the session check refuses it.
    a.link.releaseHeld();
    await world.until(at(5.2));
    b.link.releaseHeld();
    await world.until(at(5.5));
    expect(world.started().map(({ fire, by }) => [fire, by])).toEqual([[5, 'b']]);
  });

  it('claims a fire once when a leader that read the record loses and regains the key before its claim arrives: the cas at the index it read fails', async () => {
    const a = await world.instance('a');
    const b = await world.instance('b');
    await world.lead(a);
    world.run(a);
    world.run(b);
    await world.until(at(4.9));
    a.link.holdTransactions = true;
    await world.until(at(5));
    // A's claim of 5 s is on its way; meanwhile B leads and claims 5 s, then hands the key back.
    await world.stepDown(a);
    await world.lead(b);
    await world.until(at(5.2));
    expect(world.started().map(({ fire, by }) => [fire, by])).toEqual([[5, 'b']]);
    await world.stepDown(b);
    await world.lead(a);
    // A's claim arrives while A's session holds the key again: only the cas can refuse it.
    a.link.releaseHeld();
    await world.until(at(5.5));
    expect(world.started().map(({ fire, by }) => [fire, by])).toEqual([[5, 'b']]);
  });

  it('does not run a fire twice when the answer to its claim is lost: the record tells it was claimed, once', async () => {
    const a = await world.instance('a');
    await world.lead(a);
    world.run(a);
    await world.until(at(4.9));
    a.link.loseNextClaimAnswer = true;
    await world.until(at(7));
    expect(world.started().map(({ fire, by }) => [fire, by])).toEqual([[5, 'a']]);
    // The fire ran with the token of the claim that Consul applied.
    const record = world.record();
    expect(world.started()[0].token).toBe(record?.run?.token);
    expect(record?.run?.state).toBe('done');
  });

  it('does not run a fire again when it reads its record as running just before the run ends and its outcome is written', async () => {
    const a = await world.instance('a');
    await world.lead(a);
    let first = true;
    world.run(a, {}, () => {
      if (!first) return;
      first = false;
      return world.blocker.wait();
    });
    await world.until(at(9.9));
    // The read at 10 s sees the run of 5 s still running; its answer is on the way…
    a.link.holdReadAnswers = true;
    await world.until(at(10));
    // …while the run ends and its outcome is recorded; then the stale answer arrives.
    a.link.holdReadAnswers = false;
    world.blocker.releaseAll();
    await world.until(at(10.1));
    a.link.releaseHeldAnswers();
    await world.until(at(11));
    expect(
      world
        .started()
        .map(({ fire }) => fire)
        .filter((fire) => fire === 5),
    ).toEqual([5]);
  });

  it('gives up a claim whose answer was lost when leadership moves before it could read it back, so the next leader does not skip every fire', async () => {
    const a = await world.instance('a');
    const b = await world.instance('b');
    await world.lead(a);
    world.run(a);
    world.run(b);
    await world.until(at(4.9));
    a.link.loseNextClaimAnswer = true;
    await world.until(at(5.05));
    // A's claim of 5 s was applied but A does not know it; A hands over before it reads it back.
    await world.stepDown(a);
    await world.lead(b);
    await world.until(at(16));
    expect(world.started().map(({ fire, by }) => [fire, by])).toEqual([
      [10, 'b'],
      [15, 'b'],
    ]);
    expect(world.events.filter((event) => event.kind === 'orphaned')).toMatchObject([
      { fireTime: at(5), owner: 'a', instanceId: 'a' },
    ]);
  });

  it('does not run its lost claim when the read that shows it is answered after its term ended (found by the simulator, seed 7)', async () => {
    const a = await world.instance('a');
    const b = await world.instance('b');
    await world.lead(a);
    world.run(a);
    world.run(b);
    await world.until(at(4.9));
    a.link.loseNextClaimAnswer = true;
    await world.until(at(5.05));
    // A reads its record back to learn what became of the claim; the answer is slow…
    a.link.holdReadAnswers = true;
    await world.until(at(5.5));
    // …and before it arrives A's term ends and B leads.
    await world.stepDown(a);
    await world.lead(b);
    a.link.releaseHeldAnswers();
    await world.until(at(16));
    // The claim was A's, but A no longer owns the job: it records the claim orphaned, never runs it.
    expect(world.started().filter(({ by }) => by === 'a')).toEqual([]);
    expect(world.events.filter((event) => event.kind === 'orphaned')).toMatchObject([
      { fireTime: at(5), owner: 'a', instanceId: 'a' },
    ]);
  });

  it('runs each fire once across a handoff between clocks 6 s apart: the fast one fires early, the slow one waits', async () => {
    const fast = await world.instance('fast', 3_000);
    const slow = await world.instance('slow', -3_000);
    await world.lead(fast);
    world.run(fast);
    world.run(slow);
    // The fast clock reads 11 s at 8 s: it has run the fires of 5 and 10 s, each 3 s early.
    await world.until(at(8));
    await world.stepDown(fast);
    await world.lead(slow);
    // The slow clock reads 5 s now: the record says 10 s is decided, so it waits for 15 s.
    await world.until(at(19));
    expect(world.started().map(({ fire, by }) => [fire, by])).toEqual([
      [5, 'fast'],
      [10, 'fast'],
      [15, 'slow'],
    ]);
    expect(world.skipped()).toEqual([]);
  });
});
