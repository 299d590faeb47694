// Issue 9, defect 2: the fencing token is Consul's LockIndex, which starts again at 1 when the key is
// deleted and created again, and drops to 0 on an operator's plain PUT of the held key. A downstream
// store that rejects stale tokens would then reject the real leader, or accept the old one.
import type { LeaderElection } from '../../../../lib/election';
import { deleteKey, plainPut, readKeyEntry } from '../../../support/consul-operator';
import { pollUntil, uniqueKey, waitForState } from '../../../support/election-kit';
import { useRealConsul } from '../../../support/election-fixture';

/** Every term any of `elections` begins, in the order they begin: `instanceId#token`. */
function recordTerms(elections: readonly LeaderElection[]): string[] {
  const terms: string[] = [];
  for (const election of elections) {
    let last: number | null = null;
    election.state$.subscribe((state) => {
      const number = state.term?.number ?? null;
      if (state.term && number !== last)
        terms.push(`${state.instanceId}#${state.term.fencingToken}`);
      last = number;
    });
  }
  return terms;
}

const tokenOf = (term: string): number => Number(term.split('#')[1]);

/** The terms whose token is not above the one before: [] when the tokens strictly increase. */
function wentBack(terms: readonly string[]): string[] {
  return terms.flatMap((term, i) =>
    i > 0 && tokenOf(term) <= tokenOf(terms[i - 1]) ? [`${terms[i - 1]} then ${term}`] : [],
  );
}

async function newTerm(terms: readonly string[], count: number, label: string): Promise<void> {
  await pollUntil(label, () => terms.length > count || undefined, 15_000);
}

describe('fencing tokens of successive leaders (issue 9, defect 2)', () => {
  const consul = useRealConsul();

  it('strictly increase when the key is deleted while held, again and again', async () => {
    const key = uniqueKey('token-delete');
    const elections = [consul.candidate(key, 'a'), consul.candidate(key, 'b')];
    const terms = recordTerms(elections);
    elections.forEach((e) => e.start());
    await newTerm(terms, 0, 'a first leader');

    for (let round = 1; round <= 3; round++) {
      const count = terms.length;
      await deleteKey(consul.agent, key);
      await newTerm(terms, count, `a leader after deletion ${round}`);
    }
    expect({ terms, wentBack: wentBack(terms) }).toEqual({ terms, wentBack: [] });
  });

  it("strictly increase across an operator's plain PUT of the held key followed by a handoff", async () => {
    const key = uniqueKey('token-put');
    const a = consul.candidate(key, 'a');
    const b = consul.candidate(key, 'b');
    const terms = recordTerms([a, b]);
    a.start();
    await waitForState(a, (s) => s.role === 'leader');
    b.start();
    await pollUntil('B to see A lead', () => b.state.leader?.instanceId === 'a' || undefined);
    await a.resign();
    await waitForState(b, (s) => s.role === 'leader');
    await pollUntil('A to see B lead', () => a.state.leader?.instanceId === 'b' || undefined);

    const held = await readKeyEntry(consul.agent, key);
    await plainPut(consul.agent, key, held!.value ?? '');
    const count = terms.length;
    await b.resign();
    await newTerm(terms, count, 'a leader after the handoff');
    expect({ terms, wentBack: wentBack(terms) }).toEqual({ terms, wentBack: [] });
  });

  it("is the one followers report for the leader, also after an operator's plain PUT of the held key", async () => {
    const key = uniqueKey('token-follower');
    const a = consul.candidate(key, 'a');
    const b = consul.candidate(key, 'b');
    a.start();
    const leading = await waitForState(a, (s) => s.role === 'leader');
    b.start();
    await pollUntil('B to see A lead', () => b.state.leader?.instanceId === 'a' || undefined);
    expect(b.state.leader!.fencingToken).toBe(leading.term!.fencingToken);

    const seenBefore = b.state.leader;
    const held = await readKeyEntry(consul.agent, key);
    await plainPut(consul.agent, key, held!.value ?? '');
    // B's watch wakes on the PUT and reads the key again.
    await waitForState(b, (s) => s.leader !== seenBefore, 5_000, 'a read of the PUT');
    const agreed = await pollUntil(
      "B to report A's term token",
      () =>
        b.state.leader?.fencingToken === a.state.term?.fencingToken &&
        b.state.leader?.fencingToken !== 0,
      3_000,
    ).catch(() => false);
    expect({
      agreed,
      followerSees: `${b.state.leader?.instanceId}#${b.state.leader?.fencingToken}`,
      leaderTerm: `a#${a.state.term?.fencingToken}`,
    }).toEqual({
      agreed: true,
      followerSees: `a#${a.state.term?.fencingToken}`,
      leaderTerm: `a#${a.state.term?.fencingToken}`,
    });
  });
});
