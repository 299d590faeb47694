// Part 1's JobRunner, unchanged, on a job's ownership: its claim's `check-session` now fences on the
// job's owner key. Across a crash of an owner, every fire of every job is claimed at most once, the
// tokens of each job keep growing, and each fire is started by the instance that owns the job.
import { ClockOffset } from '../../../../lib/scheduler/clock-offset';
import type { FireEvent } from '../../../../lib/scheduler/cluster-job';
import { jobRecordKey } from '../../../../lib/scheduler/job-record';
import { JobRunner } from '../../../../lib/scheduler/job-runner';
import { memoryLogger } from '../../../support/election-kit';
import { ELECTION_KEY, OwnershipWorld, jobNames, type OwnershipInstance } from './ownership-world';

function runAll(
  world: OwnershipWorld,
  instance: OwnershipInstance,
  events: FireEvent[],
): JobRunner[] {
  return world.jobs.map((name) => {
    const runner = new JobRunner({
      job: {
        name,
        cronTime: '*/5 * * * * *',
        overlap: 'skip',
        misfire: 'run-once',
        orphans: 'record',
        graceMs: 1_000,
        handler: () => undefined,
      },
      port: instance.port,
      clock: instance.clock,
      leadership: instance.ownership.leadershipOf(name),
      instanceId: instance.id,
      recordKey: jobRecordKey(ELECTION_KEY, name),
      requestTimeoutMs: 500,
      logger: memoryLogger(instance.id),
      onEvent: (event) => void events.push(event),
      clockOffset: new ClockOffset(),
    });
    runner.start();
    return runner;
  });
}

describe('fires of spread jobs', () => {
  it('claims each fire of each job at most once across an owner crash, tokens growing, started by the owner', async () => {
    const world = new OwnershipWorld(jobNames(6));
    const events: FireEvent[] = [];
    const runners: JobRunner[] = [];
    try {
      for (const id of ['a', 'b', 'c']) runners.push(...runAll(world, await world.add(id), events));
      await world.until(() => world.jobs.every((job) => world.actorsOf(job).length === 1), 30_000);
      // Settled (no move after this in the spec's 20 s), then a crash.
      await world.clock.advance(20_000);
      const settledAt = world.clock.wallNow() - 10_000;
      const owners = world.actingOwners();
      const crashAt = world.clock.wallNow();
      world.crash('b');
      await world.clock.advance(60_000);
      const started = events.filter((event) => event.kind === 'started');
      for (const job of world.jobs) {
        const fires = started.filter((event) => event.job === job);
        expect(fires.length).toBeGreaterThan(10);
        expect(new Set(fires.map((fire) => fire.fireTime)).size).toBe(fires.length);
        const tokens = fires.map((fire) => fire.token);
        expect(tokens).toEqual([...tokens].sort((x, y) => x - y));
        // Before the crash, each fire by the job's owner then; after it, by its owner now.
        for (const fire of fires.filter((event) => event.at > settledAt && event.at < crashAt))
          expect(fire.instanceId).toBe(owners.get(job));
        for (const fire of fires.filter((event) => event.at > crashAt + 15_000))
          expect(fire.instanceId).toBe(world.actingOwners().get(job));
      }
      expect(world.overlaps).toEqual([]);
    } finally {
      world.dispose();
    }
  });
});
