// Findings of the adversarial review of the election core after the fixes for issue 9: each spec is
// an interleaving of a fault, a timer, a late answer and a user call that breaks a promise of
// lib/election/SAFETY.md on the reviewed code. Virtual clock and the Consul model, each
// candidate behind its own link (as in takeover-faults.spec.ts) so that one can be slowed, refused
// or lose an answer alone.
import { ConsulLeaderService } from '../../../lib/consul-leader.service';
import { RUN_AS_LEADER } from '../../../lib/consul-leader.constants';
import type { ConsulLeaderModuleOptions } from '../../../lib/interfaces/consul-leader-module-options.interface';
import { ConsulRequestError } from '../../../lib/election';
import {
  VIRTUAL_D as D,
  VIRTUAL_LOCK_DELAY as LOCK_DELAY,
  type Candidate,
  useVirtualElections,
} from '../../support/virtual-elections';

describe('review findings on the election core (virtual clock)', () => {
  const world = useVirtualElections();
  const { candidate, leading, following, until, firstOverlap } = world;

  const lastValue = (): Record<string, unknown> =>
    JSON.parse(world.consul.entry?.value ?? '{}') as Record<string, unknown>;

  /**
   * Stops `a` (100 ms for the stop to finish), checks that the hold was handed back (a release: no
   * lock-delay) rather than destroyed with the session, and returns how long after the stop 'b2'
   * led: in succession slot 0 it tries at once, so only lock-delay could hold it back.
   */
  async function stopAndTimeTheSuccessor(a: Candidate): Promise<number> {
    const stopped = a.election.stop();
    await world.clock.advance(100);
    await stopped;
    const stoppedAt = world.clock.now();
    expect(lastValue().handedBackAt).toEqual(expect.any(String));
    const b = candidate('b2');
    b.election.start();
    return (await until(() => b.election.isLeader())) - stoppedAt;
  }

  it('a stop() during an acquire whose answer is lost releases the hold Consul applied, instead of leaving it to lock-delay', async () => {
    const a = candidate('a');
    a.link.delay.set('acquire', 50);
    a.link.loseAnswer.add('acquire');
    a.election.start();
    await until(() => a.link.calls.some((call) => call.method === 'acquire'));
    // stop() while the acquire is on its way; Consul applies it, its answer is lost.
    expect(await stopAndTimeTheSuccessor(a)).toBeLessThan(LOCK_DELAY);
  });

  it('a stop() during the adoption of a hold whose acquire answer was lost releases the adopted hold, instead of leaving it to lock-delay', async () => {
    const a = candidate('a');
    a.link.loseAnswer.add('acquire');
    // The adoption's confirmation is slow: stop() comes while it is in flight.
    a.link.delay.set('confirmHolding', 50);
    a.election.start();
    await until(() => a.link.calls.some((call) => call.method === 'confirmHolding'));
    expect(await stopAndTimeTheSuccessor(a)).toBeLessThan(LOCK_DELAY);
  });

  it('ConsulLeaderService.resign() while a @LeaderOnly call still runs does not let the next candidate act at once', async () => {
    const a = candidate('a', { drainTimeout: 100 });
    const service = new ConsulLeaderService(a.election, {} as ConsulLeaderModuleOptions, null);
    a.election.start();
    await until(() => a.election.isLeader());
    const b = await following('b');
    // A @LeaderOnly job that started in a's term and is still writing downstream.
    const job = service[RUN_AS_LEADER]('Jobs.sync', () => new Promise<void>(() => undefined));
    expect(job).toBeInstanceOf(Promise);
    const resigned = service.resign({ pause: '1h' });
    const releases = (): Array<{ at: number; args: unknown[] }> =>
      a.link.calls.filter((call) => call.method === 'release');
    await until(() => releases().length > 0);
    const [release] = releases();
    const ledAt = await until(() => b.election.isLeader());
    // The job still runs: the release must not claim that nobody before it can still act, and b
    // must wait out a's lease (SAFETY.md rule 3).
    const released = JSON.parse((release.args[0] as { value: string }).value) as Record<
      string,
      unknown
    >;
    expect(released.releasedAt).toBeUndefined();
    expect(ledAt - release.at).toBeGreaterThanOrEqual(D);
    await resigned;
  });

  it('a @LeaderOnly call that reads service.signal after an await gets its term’s aborted signal, not undefined', async () => {
    const a = candidate('a');
    const service = new ConsulLeaderService(a.election, {} as ConsulLeaderModuleOptions, null);
    a.election.start();
    await until(() => a.election.isLeader());
    let resume = (): void => undefined;
    const paused = new Promise<void>((resolve) => (resume = resolve));
    const seen = service[RUN_AS_LEADER]('Jobs.sync', async () => {
      await paused;
      return { signal: service.signal, token: service.fencingToken };
    });
    await a.election.resign({ pause: '1h' });
    resume();
    const { signal, token } = (await seen)!;
    // The job must be able to see that its term ended, and fence its last write with its token.
    expect(signal?.aborted).toBe(true);
    expect(token).toEqual(expect.any(Number));
  });

  it('leads again after the agent forgot its state (indexes start over) and the first acquire’s answer was lost', async () => {
    // Indexes well above what the restarted agent will reach soon (a real cluster: thousands).
    for (let i = 0; i < 30; i += 1) world.consul.writeOtherKey();
    const a = candidate('a', { resignPause: 0 });
    a.election.start();
    await until(() => a.election.isLeader());
    // An ordinary resign: a remembers the index of the hold it released.
    await a.election.resign({ pause: 0 });
    await until(() => a.election.isLeader());
    // The dev agent restarts: sessions, the key and the indexes are gone.
    world.model.restart(true);
    // The first acquire after the restart is applied, but its answer is lost.
    a.link.loseAnswer.add('acquire');
    await until(() => !!world.consul.entry?.session);
    a.link.loseAnswer.delete('acquire');
    // a must adopt its own hold (or hand it back): with nobody leading, the key stays held by a
    // session that keeps renewing, and no other candidate can ever take it.
    await until(() => a.election.isLeader(), 5 * D);
  });

  it('does not carry the first sighting of a free key across an agent restart, where the same ModifyIndex names a later vacancy', async () => {
    const timeout = (): Error => new ConsulRequestError('timeout', 'spec', 'request timed out');
    // Indexes well above what the restarted agent will reach soon (a real cluster: thousands).
    for (let i = 0; i < 40; i += 1) world.consul.writeOtherKey();
    const fast = { successionStep: 10, retry: { initialDelay: 50, maxDelay: 100 } };
    const u = candidate('u', { drainTimeout: 100, ...fast });
    u.election.start();
    await until(() => u.election.isLeader());
    const y = candidate('y', fast);
    y.election.start();
    await world.clock.advance(50);
    // u leaves while its work still runs: the key is handed back (no marker) at index M, and y sees
    // it free. y's own acquire fails (its agent is going away), and so do its reads from now on.
    y.link.refuse.set('acquire', timeout);
    void u.election.stop({ drain: () => new Promise(() => undefined) });
    await until(() => !world.consul.entry?.session && !!lastValue().handedBackAt);
    const handedBackAt = world.consul.entry!.modifyIndex;
    await until(() =>
      y.link.calls.some(
        (call) =>
          call.method === 'acquire' &&
          (call.args[0] as { expectedModifyIndex: number }).expectedModifyIndex === handedBackAt,
      ),
    );
    y.link.refuse.set('readKey', timeout);
    // The dev agent restarts: sessions, the key and the indexes are gone.
    world.model.restart(true);
    // After the restart w leads (it took the absent key and waited out D), then is cut off inside
    // its lease; an operator deletes the key; v takes it and resigns before it acts, handing the key
    // back — as it happens, at the same ModifyIndex y saw before the restart.
    const w = candidate('w', fast);
    w.election.start();
    await until(() => w.election.isLeader());
    const v = candidate('v', fast);
    v.election.start();
    await world.clock.advance(20);
    w.link.cut = true;
    world.consul.deleteKey();
    await until(() => v.election.stepDownDeadline !== null);
    while (world.model.lastIndex() < handedBackAt - 1) world.consul.writeOtherKey();
    void v.election.resign({ pause: '1h' });
    await until(() => !world.consul.entry?.session);
    expect(world.consul.entry!.modifyIndex).toBe(handedBackAt);
    // y's agent answers again. The free entry it reads is not the one it saw before the restart:
    // it must wait out the lease from now, while w may still act.
    y.link.refuse.delete('readKey');
    y.link.refuse.delete('acquire');
    expect(await firstOverlap([w.election, y.election, v.election], 3 * D)).toBeNull();
  });

  it('keeps its campaign backoff when writes to other keys wake the watch of an absent key (an acquire answered 429)', async () => {
    const a = candidate('a');
    a.link.refuse.set(
      'acquire',
      () => new ConsulRequestError('rate-limited', 'acquire', 'HTTP 429', 429),
    );
    a.election.start();
    await until(() => a.link.calls.some((call) => call.method === 'acquire'));
    const from = a.link.calls.length;
    // Another client writes a neighbour key every 50 ms, for 5 s.
    for (let t = 0; t < 5_000; t += 50) {
      world.consul.writeOtherKey();
      await world.clock.advance(50);
    }
    const acquires = a.link.calls.slice(from).filter((call) => call.method === 'acquire').length;
    // Capped, jittered backoff (100 ms up to 2 s): a handful, not one per write of another key.
    expect(acquires).toBeLessThanOrEqual(15);
  });

  it('waits out lock-delay on a deleted key once, not with an acquire per write of another key', async () => {
    const x = await leading('x');
    // b's slot on an absent key comes early (10 ms steps), well inside lock-delay.
    const b = candidate('b', { successionStep: 10 });
    b.election.start();
    await world.clock.advance(50);
    // x's session is invalidated (lock-delay starts, and stays on the key name), then the key is
    // deleted: b sees an absent key that Consul still refuses for lock-delay.
    x.link.cut = true;
    world.consul.invalidate(world.consul.entry!.session!);
    world.consul.deleteKey();
    const from = b.link.calls.length;
    for (let t = 0; t < LOCK_DELAY; t += 50) {
      world.consul.writeOtherKey();
      await world.clock.advance(50);
    }
    const acquires = b.link.calls.slice(from).filter((call) => call.method === 'acquire').length;
    expect(acquires).toBeLessThanOrEqual(3);
  });

  it('does not take a "released" marker that an operator copied into the key (kv import after a delete) as a claim', async () => {
    const a = candidate('a', { successionStep: 10 });
    a.election.start();
    await until(() => a.election.isLeader());
    const b = candidate('b', { successionStep: 10 });
    b.election.start();
    await world.clock.advance(50);
    b.link.delay.set('acquire', 20);
    await a.election.resign({ pause: '1h' });
    // An operator exports the prefix while the key shows a's release, marker included.
    const exported = world.consul.entry!.value!;
    expect(exported).toContain('releasedAt');
    b.link.delay.delete('acquire');
    await until(() => b.election.isLeader());
    const c = candidate('c', { successionStep: 10 });
    c.election.start();
    await world.clock.advance(50);
    // b is cut off inside its lease; the operator deletes the key and imports the export (a plain
    // PUT: no session, LockIndex 0, no lock-delay).
    b.link.cut = true;
    world.consul.deleteKey();
    world.consul.putValue(exported);
    expect(await firstOverlap([a.election, b.election, c.election], 3 * D)).toBeNull();
  });

  it('a resign() during the adoption of a hold whose acquire answer was lost keeps the instance from leading', async () => {
    const a = candidate('a');
    a.link.loseAnswer.add('acquire');
    a.link.delay.set('confirmHolding', 50);
    a.election.start();
    await until(() => a.link.calls.some((call) => call.method === 'confirmHolding'));
    a.link.delay.delete('confirmHolding');
    const resigned = a.election.resign({ pause: '1h' });
    await world.clock.advance(100);
    await resigned;
    await world.clock.advance(3 * D);
    expect(a.election.isLeader()).toBe(false);
    // And the hold went back, so that another candidate can lead.
    expect(world.consul.entry?.session ?? null).toBeNull();
  });

  it('an adopted hold takes its fencing token from Consul’s index, never from a token an operator wrote into the value', async () => {
    const b = await leading('b');
    const bToken = b.election.state.term!.fencingToken;
    const a = await following('a');
    // a's acquire is applied but its answer lost; before a's watch sees the hold, an operator
    // imports an old export of the key (a plain PUT keeps a's session), an old holder's token in it.
    a.link.delay.set('readKey', 20);
    a.link.loseAnswer.add('acquire');
    const bSession = world.consul.entry!.session;
    void b.election.resign({ pause: '1h' });
    await until(
      () => world.consul.entry?.session != null && world.consul.entry.session !== bSession,
    );
    a.link.loseAnswer.delete('acquire');
    world.consul.putValue(
      JSON.stringify({
        instanceId: 'old',
        metadata: {},
        since: '2025-01-01T00:00:00.000Z',
        token: 1,
      }),
    );
    await until(() => a.election.isLeader());
    expect(a.election.state.term!.fencingToken).toBeGreaterThan(bToken);
  });
});
