// One owner acting at a time per job: no two instances' Leads of one job are valid at the same
// (virtual, true) moment, through crashes, partitions and pauses; and a crashed instance's jobs
// move within the crash failover, each to where the assignment over the survivors puts it
// (docs/design/job-spread.md, "Safety" and "Crash").
import { assignJobs } from '../../../../lib/scheduler/ownership/assignment';
import { OwnershipWorld, TIMING, jobNames } from './ownership-world';

/**
 * The crash failover: the check turns critical `checkTtl` after its last update (Consul
 * invalidates the session), the survivors see the key free at their next read, the lock-delay runs
 * from the invalidation, and the taker waits out D (+1 %) from the read that showed it free; plus
 * one more read interval for a taker whose read came just before the lock-delay ended.
 */
const CRASH_FAILOVER_MS =
  TIMING.checkTtlMs + 2 * TIMING.renewIntervalMs + TIMING.leaseMs * 1.01 + TIMING.requestTimeoutMs;

async function settledWorld(members: string[], jobs: number, seed = 20): Promise<OwnershipWorld> {
  const world = new OwnershipWorld(jobNames(jobs), seed);
  world.startSampler();
  for (const id of members) await world.add(id);
  await world.until(() => {
    const acting = world.actingOwners();
    const target = assignJobs(world.members, world.jobs, acting as Map<string, string>);
    return world.jobs.every((job) => acting.get(job) && acting.get(job) === target.get(job));
  }, 60_000);
  return world;
}

describe('one owner acting at a time per job', () => {
  let world: OwnershipWorld;
  afterEach(() => world.dispose());

  it("moves a crashed instance's jobs within the crash failover, each to its place among the survivors, with the catalog still listing the dead", async () => {
    world = await settledWorld(['a', 'b', 'c', 'd'], 20);
    const before = world.actingOwners();
    const orphaned = world.jobs.filter((job) => before.get(job) === 'b');
    const expected = assignJobs(
      ['a', 'c', 'd'],
      world.jobs,
      new Map([...before].filter(([, owner]) => owner !== 'b')) as Map<string, string>,
    );
    const survivors = [...world.instances.values()].filter((instance) => instance.id !== 'b');
    const acquiredBefore = survivors.map(
      (instance) => instance.events.filter((event) => event.kind === 'acquired').length,
    );
    // The catalog read still lists b (a read from before its check turned critical): the takers
    // learn it is gone from its invalidated session.
    world.membersOverride = ['a', 'b', 'c', 'd'];
    world.crash('b');
    const took = await world.until(
      () => orphaned.every((job) => world.actorsOf(job).length === 1),
      3 * CRASH_FAILOVER_MS,
    );
    process.stdout.write(
      `crash failover of ${orphaned.length} jobs: ${took} ms (bound ${CRASH_FAILOVER_MS} ms)\n`,
    );
    expect(took).toBeLessThanOrEqual(CRASH_FAILOVER_MS);
    for (const job of orphaned) expect(world.actorsOf(job)).toEqual([expected.get(job)]);
    // Nothing else moved, and each freed key was tried by one instance: no herd of acquires.
    for (const job of world.jobs.filter((name) => !orphaned.includes(name)))
      expect(world.actorsOf(job)).toEqual([before.get(job)]);
    const acquires = survivors.flatMap((instance, i) =>
      instance.events.filter((event) => event.kind === 'acquired').slice(acquiredBefore[i]),
    );
    expect(acquires.filter((event) => orphaned.includes(event.job)).length).toBe(orphaned.length);
    expect(world.overlaps).toEqual([]);
  });

  it('never lets a partitioned owner act past its lease while its jobs move', async () => {
    world = await settledWorld(['a', 'b', 'c'], 9);
    const cut = world.instances.get('a')!;
    const owned = cut.ownership.ownedJobs();
    cut.link.cut = true;
    const cutAt = world.clock.now();
    // a acts on until its lease runs out, never after; the others take its jobs after that.
    await world.until(
      () => owned.every((job) => world.actorsOf(job).some((id) => id !== 'a')),
      20_000,
    );
    for (const job of owned) expect(world.actorsOf(job)).not.toContain('a');
    expect(world.clock.now() - cutAt).toBeGreaterThan(TIMING.leaseMs);
    cut.link.cut = false;
    await world.clock.advance(20_000);
    expect(world.overlaps).toEqual([]);
  });

  it("waits out the previous owner's lease when Consul forgot the lock-delay (its server restarted)", async () => {
    world = await settledWorld(['a', 'b', 'c'], 9);
    const cut = world.instances.get('a')!;
    const owned = cut.ownership.ownedJobs();
    // a is cut off, and at once its session is gone (an operator's `session destroy`, or the
    // servers' serfHealth verdict): its keys are free with a lock-delay, which a server restart
    // then forgets. a still acts until D after its last confirmation; only the takers' own wait
    // stands between a's last moments and theirs.
    cut.link.cut = true;
    world.model.sessionDestroy(cut.session.id);
    world.model.restart(false);
    await world.until(
      () => owned.every((job) => world.actorsOf(job).some((id) => id !== 'a')),
      20_000,
    );
    for (const job of owned) expect(world.actorsOf(job)).not.toContain('a');
    cut.link.cut = false;
    await world.clock.advance(20_000);
    expect(world.overlaps).toEqual([]);
  });

  it('never lets an owner paused past its lease act when it is continued', async () => {
    world = await settledWorld(['a', 'b', 'c'], 9);
    const paused = world.instances.get('c')!;
    const owned = paused.ownership.ownedJobs();
    paused.pause.paused = true;
    await world.until(() => owned.every((job) => world.actorsOf(job).length === 1), 20_000);
    paused.pause.resume();
    // Continued, with its old holds and its timers due at once: its Leads are already invalid.
    for (const job of owned) expect(world.actorsOf(job)).not.toContain('c');
    await world.clock.advance(20_000);
    expect(world.overlaps).toEqual([]);
  });

  it.each([1, 2, 3, 4, 5, 6, 7, 8])(
    'keeps one owner per job through a random storm of crashes, partitions, pauses and lost answers (seed %i)',
    async (seed) => {
      world = await settledWorld(['a', 'b', 'c', 'd', 'e'], 12, seed);
      const random = world.random.fork();
      let added = 0;
      for (let step = 0; step < 40; step += 1) {
        const alive = [...world.instances.values()].filter((instance) => !instance.crashed);
        const target = random.pick(alive);
        switch (
          random.weighted<string>([
            [3, 'cut'],
            [3, 'pause'],
            [2, 'lose-answers'],
            [1, 'crash'],
            [1, 'join'],
            [4, 'calm'],
          ])
        ) {
          case 'cut':
            target.link.cut = true;
            world.clock.setTimer(() => (target.link.cut = false), random.int(500, 8_000));
            break;
          case 'pause':
            target.pause.paused = true;
            world.clock.setTimer(() => target.pause.resume(), random.int(500, 8_000));
            break;
          case 'lose-answers':
            target.link.fate = () => (random.chance(0.3) ? 'answer-lost' : null);
            world.clock.setTimer(() => (target.link.fate = null), random.int(1_000, 6_000));
            break;
          case 'crash':
            if (alive.length > 2) world.crash(target.id);
            break;
          case 'join':
            await world.add(`new-${(added += 1)}`);
            break;
        }
        await world.clock.advance(random.int(200, 3_000));
      }
      await world.clock.advance(30_000);
      expect(world.overlaps).toEqual([]);
    },
  );
});
