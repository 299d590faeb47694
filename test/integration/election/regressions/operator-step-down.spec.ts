// Issue 9, defect 10: the README says the leader steps down when someone deletes the key or destroys
// its session, but no spec checked the `lost` and `session-lost` step-downs on a real agent.
import { LeadershipLostError } from '../../../../lib/election';
import { deleteKey, destroySession, readKeyEntry } from '../../../support/consul-operator';
import {
  LeadershipRecorder,
  pollUntil,
  uniqueKey,
  waitForState,
} from '../../../support/election-kit';
import { useRealConsul } from '../../../support/election-fixture';

describe('a leader whose key or session is taken away by an operator (issue 9, defect 10)', () => {
  const consul = useRealConsul();

  async function leaderAndFollower(name: string) {
    const key = uniqueKey(name);
    const recorder = new LeadershipRecorder();
    const leader = consul.candidate(key, 'leader');
    const follower = consul.candidate(key, 'follower');
    recorder.watch(leader);
    recorder.watch(follower);
    leader.start();
    const leading = await waitForState(leader, (s) => s.role === 'leader');
    follower.start();
    await pollUntil(
      'the follower to see the leader',
      () => follower.state.leader?.instanceId === 'leader' || undefined,
    );
    return { key, leader, follower, recorder, signal: leading.term!.signal };
  }

  function reasonOf(signal: AbortSignal): string {
    return signal.reason instanceof LeadershipLostError
      ? signal.reason.reason
      : `not aborted with LeadershipLostError: ${String(signal.reason)}`;
  }

  it("steps down with reason 'lost' when the key is deleted, and a leader follows without overlap", async () => {
    const { key, leader, follower, recorder, signal } = await leaderAndFollower('operator-delete');
    await deleteKey(consul.agent, key);
    await waitForState(leader, (s) => s.role === 'follower', 5_000);
    expect({ aborted: signal.aborted, reason: reasonOf(signal) }).toEqual({
      aborted: true,
      reason: 'lost',
    });
    await pollUntil('a new leader', () => [leader, follower].find((e) => e.isLeader()), 10_000);
    expect(recorder.overlaps()).toEqual([]);
  });

  it("steps down with reason 'session-lost' when its session is destroyed, and a leader follows without overlap", async () => {
    const { key, leader, follower, recorder, signal } = await leaderAndFollower('operator-destroy');
    const held = await readKeyEntry(consul.agent, key);
    await destroySession(consul.agent, held!.session!);
    await waitForState(leader, (s) => s.role === 'follower', 5_000);
    expect({ aborted: signal.aborted, reason: reasonOf(signal) }).toEqual({
      aborted: true,
      reason: 'session-lost',
    });
    await pollUntil('a new leader', () => [leader, follower].find((e) => e.isLeader()), 10_000);
    expect(recorder.overlaps()).toEqual([]);
  });
});
