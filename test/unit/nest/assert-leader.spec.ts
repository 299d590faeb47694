// assertLeader() on the testing stand-in, which users' tests run their code against: it must throw
// exactly where the real service throws (the real one is covered in test/e2e/leader-only-guard).
import { NotLeaderError, createConsulLeaderServiceStub } from '../../../lib';

describe('assertLeader()', () => {
  it('passes while the stub leads', () => {
    const stub = createConsulLeaderServiceStub({ leader: true });
    expect(() => stub.assertLeader()).not.toThrow();
  });

  it('throws a NotLeaderError with the key, the role and the leader once the stub follows', () => {
    const stub = createConsulLeaderServiceStub({
      leader: true,
      instanceId: 'me',
      key: 'jobs/leader',
    });
    stub.becomeFollower({ instanceId: 'other', metadata: {}, since: new Date(0), fencingToken: 3 });
    expect(() => stub.assertLeader('settlement')).toThrow(NotLeaderError);
    expect(() => stub.assertLeader('settlement')).toThrow(
      'settlement: this instance ("me") is not the leader of "jobs/leader" (role follower; "other" leads).',
    );
  });

  it('says that no leader is known when nobody holds the key', () => {
    const stub = createConsulLeaderServiceStub();
    expect(() => stub.assertLeader()).toThrow(/no leader is known/);
  });
});
