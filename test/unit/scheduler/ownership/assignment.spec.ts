// The assignment of jobs to instances, as properties over many random memberships, job sets and
// current owners (docs/design/job-spread.md, "Assignment").
import { assignJobs, takeoverOrder } from '../../../../lib/scheduler/ownership/assignment';
import { Prng } from '../../../support/prng';

const CASES = 400;

interface Case {
  readonly members: string[];
  readonly jobs: string[];
  readonly random: Prng;
}

function* cases(seed: number): Generator<Case> {
  const random = new Prng(seed);
  for (let n = 0; n < CASES; n += 1) {
    const members = Array.from(
      { length: random.int(1, 12) },
      (_, i) => `i${random.int(0, 1e6)}-${i}`,
    );
    const jobs = Array.from(
      { length: random.int(0, 120) },
      (_, i) => `job-${random.int(0, 1e6)}.${i}`,
    );
    yield { members, jobs, random };
  }
}

function loads(owners: ReadonlyMap<string, string>, members: readonly string[]): number[] {
  return members.map((id) => [...owners.values()].filter((owner) => owner === id).length);
}

function moved(
  before: ReadonlyMap<string, string>,
  after: ReadonlyMap<string, string>,
  jobs: readonly string[],
): string[] {
  return jobs.filter((job) => before.get(job) !== after.get(job));
}

describe('the assignment of jobs to instances', () => {
  it('gives every job one owner among the members, and each member ⌊J/N⌋ or ⌈J/N⌉ jobs, whoever owns what now', () => {
    for (const { members, jobs, random } of cases(1)) {
      // Any current state: owners that are members or not, loads far from balanced, jobs unowned.
      const current = new Map(
        jobs
          .filter(() => random.chance(0.7))
          .map((job) => [job, random.chance(0.8) ? random.pick(members) : 'gone']),
      );
      const owners = assignJobs(members, jobs, current);
      expect([...owners.keys()].sort()).toEqual([...jobs].sort());
      for (const owner of owners.values()) expect(members).toContain(owner);
      const floor = Math.floor(jobs.length / members.length);
      for (const load of loads(owners, members)) {
        expect(load === floor || load === Math.ceil(jobs.length / members.length)).toBe(true);
      }
    }
  });

  it('is the same on every instance: it does not depend on the order of the members or jobs', () => {
    for (const { members, jobs, random } of cases(2)) {
      const current = assignJobs(members.slice(1), jobs);
      const shuffled = <T>(items: T[]): T[] =>
        items
          .map((item) => ({ item, key: random.next() }))
          .sort((a, b) => a.key - b.key)
          .map(({ item }) => item);
      expect(assignJobs(shuffled(members), shuffled(jobs), current)).toEqual(
        assignJobs(members, jobs, current),
      );
    }
  });

  it('moves nothing once settled: the assignment of the current owners is itself (no ping-pong)', () => {
    for (const { members, jobs } of cases(3)) {
      const settled = assignJobs(members, jobs);
      expect(moved(settled, assignJobs(members, jobs, settled), jobs)).toEqual([]);
    }
  });

  it("moves, on a join, only the joiner's quota of jobs, each to the joiner", () => {
    for (const { members, jobs } of cases(4)) {
      const before = assignJobs(members, jobs);
      const after = assignJobs([...members, 'joiner'], jobs, before);
      const moves = moved(before, after, jobs);
      for (const job of moves) expect(after.get(job)).toBe('joiner');
      expect(moves.length).toBeLessThanOrEqual(Math.ceil(jobs.length / (members.length + 1)));
      expect(moves.length).toBeGreaterThanOrEqual(Math.floor(jobs.length / (members.length + 1)));
    }
  });

  it("moves, on a leave, only the leaver's jobs", () => {
    for (const { members, jobs, random } of cases(5)) {
      if (members.length < 2) continue;
      const before = assignJobs(members, jobs);
      const leaver = random.pick(members);
      const after = assignJobs(
        members.filter((id) => id !== leaver),
        jobs,
        before,
      );
      const moves = moved(before, after, jobs);
      expect(moves.sort()).toEqual(jobs.filter((job) => before.get(job) === leaver).sort());
    }
  });

  it("scatters a dead instance's jobs: none of the survivors takes more than its quota's growth", () => {
    // The herd the succession avoids for the election's key, here for the jobs: 100 jobs, 10
    // instances, one dies; its 10 jobs go to the 9 others, at most 2 each (⌈100/9⌉ − ⌊100/10⌋).
    const members = Array.from({ length: 10 }, (_, i) => `instance-${i}`);
    const jobs = Array.from({ length: 100 }, (_, i) => `job-${i}`);
    const before = assignJobs(members, jobs);
    const after = assignJobs(members.slice(1), jobs, before);
    const gained = members
      .slice(1)
      .map((id) => moved(before, after, jobs).filter((job) => after.get(job) === id).length);
    expect(Math.max(...gained)).toBeLessThanOrEqual(2);
    expect(gained.reduce((a, b) => a + b, 0)).toBe(10);
  });

  it('orders the takers of a freed job: where it will settle first, its previous holder last', () => {
    for (const { members, jobs, random } of cases(6)) {
      if (jobs.length === 0 || members.length < 2) continue;
      const current = assignJobs(members, jobs);
      const job = random.pick(jobs);
      const previous = current.get(job)!;
      const withoutJob = new Map([...current].filter(([name]) => name !== job));
      // Handed over (alive: among the members), or crashed (not).
      const eligible = random.chance(0.5) ? members : members.filter((id) => id !== previous);
      const order = takeoverOrder(job, jobs, eligible, withoutJob, previous);
      expect([...order].sort()).toEqual([...eligible].sort());
      if (eligible.includes(previous)) expect(order.at(-1)).toBe(previous);
      const settlesOn = assignJobs(eligible, jobs, withoutJob).get(job);
      if (settlesOn !== previous) expect(order[0]).toBe(settlesOn);
    }
  });
});
