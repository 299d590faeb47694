import { createHash } from 'node:crypto';

/**
 * Who should own each job: a pure function of the live membership, the job names and who owns
 * each job now (which every instance reads in the same owners read), so that instances that see the
 * same state compute the same answer without asking anyone (docs/design/job-spread.md, "Assignment").
 *
 * Exact quotas: each instance gets ⌊J/N⌋ jobs, and J mod N of them one more; the extra places go to
 * the instances that carry the most now (then by id), so a settled cluster stays as it is.
 * Stickiness: an instance keeps up to its quota of the jobs it owns (those it weighs highest), so
 * only what must move moves: on a join, exactly the joiner's quota (from instances over theirs); on
 * a leave, exactly the leaver's jobs; none when nothing changed (a fixed point: no ping-pong).
 * Placement: the jobs left without an owner go by rendezvous (highest random weight) hashing, every
 * (job, instance) pair visited by descending weight, to the instance of the pair when the job is
 * still unplaced and the instance has room: each job to the first instance in its own order with
 * room, so a dead instance's jobs scatter instead of landing on one. The rooms add up to J and each
 * job visits every instance, so every job is placed.
 */

/** The weight of a (job, instance) pair: 48 bits of SHA-256, the same on every instance and version. */
export function pairWeight(job: string, instanceId: string): number {
  const digest = createHash('sha256').update(job).update('\0').update(instanceId).digest();
  return digest.readUIntBE(0, 6);
}

/** The job's own order of the instances, most preferred first (ties, which are rare, by id). */
export function rendezvousOrder(job: string, members: readonly string[]): string[] {
  return unique(members)
    .map((id) => ({ id, weight: pairWeight(job, id) }))
    .sort((a, b) => b.weight - a.weight || compareIds(a.id, b.id))
    .map(({ id }) => id);
}

/**
 * The preferred owner of each job over `members` (an empty map when there are none), given who owns
 * each job now (`current`: owners that are not members are ignored; none at first start).
 */
export function assignJobs(
  members: readonly string[],
  jobs: readonly string[],
  current: ReadonlyMap<string, string> = new Map(),
): ReadonlyMap<string, string> {
  const instances = unique(members);
  const names = unique(jobs);
  const owners = new Map<string, string>();
  if (instances.length === 0) return owners;
  // Hashed once per pair: the sorts below compare each pair many times.
  const weights = new Map<string, number>();
  const weight = (job: string, id: string): number => {
    const pair = `${job}\0${id}`;
    let known = weights.get(pair);
    if (known === undefined) weights.set(pair, (known = pairWeight(job, id)));
    return known;
  };
  const held = new Map<string, string[]>(instances.map((id) => [id, []]));
  for (const job of names) held.get(current.get(job) ?? '')?.push(job);
  const base = Math.floor(names.length / instances.length);
  const extras = names.length % instances.length;
  const room = new Map<string, number>();
  instances
    .slice()
    .sort((a, b) => held.get(b)!.length - held.get(a)!.length || compareIds(a, b))
    .forEach((id, place) => room.set(id, base + (place < extras ? 1 : 0)));
  for (const id of instances) {
    const kept = held
      .get(id)!
      .sort((a, b) => weight(b, id) - weight(a, id) || compareIds(a, b))
      .slice(0, room.get(id)!);
    for (const job of kept) owners.set(job, id);
    room.set(id, room.get(id)! - kept.length);
  }
  const pairs = names
    .filter((job) => !owners.has(job))
    .flatMap((job) => instances.map((id) => ({ job, id, weight: weight(job, id) })));
  pairs.sort((a, b) => b.weight - a.weight || compareIds(a.job, b.job) || compareIds(a.id, b.id));
  for (const { job, id } of pairs) {
    if (owners.has(job) || room.get(id)! === 0) continue;
    owners.set(job, id);
    room.set(id, room.get(id)! - 1);
  }
  return owners;
}

/**
 * The order in which the instances try to take a job whose owner key fell free: first the owner
 * the assignment names (where the job will settle, so it moves once; `current` without the freed
 * job), then the rest in the job's rendezvous order, the previous holder last. `members` are those
 * that may own it: without a previous holder whose session died (a crash: the catalog may still
 * list it for a moment), with one that handed the job over (it is alive and keeps its quota).
 */
export function takeoverOrder(
  job: string,
  jobs: readonly string[],
  members: readonly string[],
  current: ReadonlyMap<string, string>,
  previousHolder: string | null,
): string[] {
  const preferred = assignJobs(members, jobs, current).get(job);
  const order = rendezvousOrder(job, members).filter(
    (id) => id !== preferred && id !== previousHolder,
  );
  return [
    ...(preferred && preferred !== previousHolder ? [preferred] : []),
    ...order,
    ...(previousHolder && members.includes(previousHolder) ? [previousHolder] : []),
  ];
}

function unique(ids: readonly string[]): string[] {
  return [...new Set(ids)].sort(compareIds);
}

/** Code-unit order: the same on every instance whatever its locale. */
function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
