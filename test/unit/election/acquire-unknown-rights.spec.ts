// A follower whose acquire went through with its answer lost, and whose token then lost the key
// rule before it could read the key (simulator seed 11119: an agent restart ate the answer, a
// lasting revocation followed). Its session holds the key, its renewals (still allowed) keep the
// session alive, and its key reads, refused 403, never tell it the key is its own: nobody can
// lead until the rule comes back. It gives the key up the way it still may, by destroying the
// session, as a holder whose release is refused does (key-rights.spec.ts). On the Consul model.
import { writingTxn } from '../../support/faulty-link';
import { useModelElections } from '../../support/model-elections';
import {
  VIRTUAL_D as D,
  VIRTUAL_KEY as KEY,
  VIRTUAL_LOCK_DELAY as LOCK_DELAY,
} from '../../support/virtual-elections';

const STEP = 1_000;
const MAX_DELAY = 2_000;

describe('a follower whose acquire outcome is unknown when its token loses the key rule (virtual clock, Consul model)', () => {
  const world = useModelElections({
    successionStep: STEP,
    sessionTtl: 10_000,
    healthCheck: { ttl: 2_000, standbyTtl: 10_000 },
    retry: { initialDelay: 100, maxDelay: MAX_DELAY },
  });
  const { link, elect, until } = world;

  it('lets another candidate lead within a key read’s backoff, lock-delay, D and the succession steps', async () => {
    const a = elect('a');
    a.start();
    await until(() => a.isLeader(), 10_000);
    const bLink = link();
    const b = elect('b', bLink);
    b.start();
    await until(() => world.valueInKey()?.successors?.includes('b') ?? false, 10_000);
    const c = elect('c');
    c.start();
    await until(() => world.valueInKey()?.successors?.includes('c') ?? false, 10_000);
    const bSession = world.model
      .sessionIds()
      .find((id) => world.model.sessionInfo(id)?.name === `${KEY}#b`);
    // b's acquire goes through; its answer is lost, and the key rule is taken from b at once.
    let first = true;
    bLink.fate = (request) =>
      writingTxn(request) && first
        ? ((first = false), { answerLost: true, then: () => world.model.revoke('b', 'key') })
        : null;
    const stoppedAt = world.clock.now();
    await a.stop();
    await until(() => world.model.entryOf(KEY)?.Session === bSession, 5_000);
    const ledAt = await until(() => c.isLeader(), 60_000);
    expect(b.isLeader()).toBe(false);
    // b's next key read is refused (its backoff after a 403 is maxDelay at most), it destroys the
    // session, Consul frees the key under lock-delay, and c waits out D after it.
    expect(ledAt - stoppedAt).toBeLessThanOrEqual(MAX_DELAY + LOCK_DELAY + D + 2 * STEP);
  });
});
