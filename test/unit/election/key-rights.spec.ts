// A token that loses some of its rights while its candidate holds the key (issue 18, defect 2): an
// operator edits one instance's policy. Consul keeps the key for as long as the holder's session
// lives, and that session lives for as long as the holder may renew it (session rights) and keep
// its check passing (service rights). A holder that may no longer write the key cannot release
// it, so it gives the key up the way it still may: it destroys its session. On the Consul model,
// each candidate with its own ACL token.
import { memoryLogger } from '../../support/election-kit';
import { useModelElections } from '../../support/model-elections';
import {
  VIRTUAL_D as D,
  VIRTUAL_KEY as KEY,
  VIRTUAL_LOCK_DELAY as LOCK_DELAY,
} from '../../support/virtual-elections';

const STEP = 1_000;
/** The leader's check TTL in these specs: a holder whose check is no longer updated loses its session that long after the last update. */
const CHECK_TTL = 2_000;
const SESSION_TTL = 10_000;
const MAX_DELAY = 2_000;

describe('a holder whose ACL token loses some of its rights (virtual clock, Consul model)', () => {
  const world = useModelElections({
    successionStep: STEP,
    sessionTtl: SESSION_TTL,
    healthCheck: { ttl: CHECK_TTL, standbyTtl: 10_000 },
    retry: { initialDelay: 100, maxDelay: MAX_DELAY },
  });
  const { link, elect, until } = world;

  /** `a` leads with its log in `lines`, `b` follows and is named its successor. */
  async function aLeadsBFollows(lines: string[] = []) {
    const aLink = link();
    const a = elect('a', aLink, { logger: memoryLogger('a', lines) });
    a.start();
    await until(() => a.isLeader(), 10_000);
    const b = elect('b');
    b.start();
    await until(() => world.valueInKey()?.successors?.includes('b') ?? false, 10_000);
    return { a, aLink, b, session: world.model.entryOf(KEY)!.Session! };
  }

  it('lets another candidate lead within lock-delay, D and a succession step when the holder may no longer write the key', async () => {
    const { b } = await aLeadsBFollows();
    world.model.revoke('a', 'key');
    const revokedAt = world.clock.now();
    // The holder steps down at its deadline (its confirmations are refused); it cannot release the
    // key, so it destroys its session: Consul frees the key under lock-delay, and the successor,
    // which saw no "released" marker, acts lock-delay (≥ D) after it saw the key free.
    const ledAt = await until(() => b.isLeader(), D + LOCK_DELAY + STEP);
    expect(ledAt - revokedAt).toBeLessThanOrEqual(D + LOCK_DELAY + STEP);
  });

  it('says which key it could not release, that the token may not write it, and that it destroyed its session instead', async () => {
    const lines: string[] = [];
    const { a, b, session } = await aLeadsBFollows(lines);
    world.model.revoke('a', 'key');
    await until(() => b.isLeader(), 30_000);
    const said = lines.filter((line) => /^a (warn|error) /.test(line));
    expect(said).toContainEqual(
      expect.stringMatching(new RegExp(`"${KEY}".*write.*destroyed session ${session}`, 'is')),
    );
    expect(a.state.problem).toMatchObject({ kind: 'forbidden', status: 403 });
  });

  it('opens one new session after destroying its own and creates or destroys no more while its token may not touch the key', async () => {
    const { aLink, b } = await aLeadsBFollows();
    const created = aLink.count('session.create');
    const destroyed = aLink.count('session.destroy');
    const sent = aLink.sent.length;
    world.model.revoke('a', 'key');
    await until(() => b.isLeader(), 30_000);
    await world.clock.advance(60_000);
    expect(aLink.count('session.create') - created).toBe(1);
    expect(aLink.count('session.destroy') - destroyed).toBe(1);
    // Every loop that meets a 403 waits retry.maxDelay: no tight loop, about one request a second.
    expect((aLink.sent.length - sent) / 60).toBeLessThan(2);
  });

  it('leads again once its token may write the key again', async () => {
    const { a, b } = await aLeadsBFollows();
    world.model.revoke('a', 'key');
    await until(() => b.isLeader(), 30_000);
    world.model.deny('a', []);
    await b.stop();
    await until(() => a.isLeader(), 2 * MAX_DELAY + D + LOCK_DELAY + STEP);
  });

  it('keeps leading while it may no longer renew its session, and another leads once Consul drops that session', async () => {
    const { a, aLink, b } = await aLeadsBFollows();
    world.model.revoke('a', 'session');
    const revokedAt = world.clock.now();
    // The key is a's for as long as its session lives: a leads until then, within its lease.
    await world.clock.advance(SESSION_TTL);
    expect(a.isLeader()).toBe(true);
    // Consul drops a session 2 × TTL after its last renewal; then lock-delay, then b acts.
    const ledAt = await until(() => b.isLeader(), 2 * SESSION_TTL + LOCK_DELAY + D + STEP);
    expect(ledAt - revokedAt).toBeLessThanOrEqual(2 * SESSION_TTL + LOCK_DELAY + D + STEP);
    const created = aLink.count('session.create');
    await world.clock.advance(60_000);
    expect(a.isLeader()).toBe(false);
    // Each session create refused 403 waits retry.maxDelay before the next: no tight loop.
    expect(aLink.count('session.create') - created).toBeLessThanOrEqual(60_000 / MAX_DELAY + 1);
  });

  it('lets another candidate lead within its check TTL, lock-delay and D when the holder loses every right, without a tight loop', async () => {
    const { aLink, b } = await aLeadsBFollows();
    world.model.revoke('a', 'all');
    const revokedAt = world.clock.now();
    // a can neither release the key nor destroy its session, nor keep its check passing: Consul
    // invalidates the session at most the check's TTL after its last update.
    const ledAt = await until(() => b.isLeader(), CHECK_TTL + LOCK_DELAY + D + STEP);
    expect(ledAt - revokedAt).toBeLessThanOrEqual(CHECK_TTL + LOCK_DELAY + D + STEP);
    const [released, destroyed] = [
      aLink.count('Transaction.create'),
      aLink.count('session.destroy'),
    ];
    await world.clock.advance(60_000);
    // Its release and the destroy, both refused 403, are tried again once per retry.maxDelay.
    expect(aLink.count('Transaction.create') - released).toBeLessThanOrEqual(
      60_000 / MAX_DELAY + 1,
    );
    expect(aLink.count('session.destroy') - destroyed).toBeLessThanOrEqual(60_000 / MAX_DELAY + 1);
  });
});
