// Issue 9, defect 8: the default service name turned every character that is not a letter, digit or
// dash into a dash, so `jobs/job.a`, `jobs/job-a` and `jobs-job-a` shared one candidate service; each
// key's leader then named the other key's candidates as its successors, and a handoff waited through
// their slots.
import { LeaderElection } from '../../../../lib/election';
import { readLeaderValue } from '../../../support/consul-operator';
import {
  FAST_TIMINGS,
  uniqueKey,
  waitForState,
  waitUntilNamedSuccessor,
} from '../../../support/election-kit';
import { useRealConsul } from '../../../support/election-fixture';

describe('keys whose names differ only in punctuation (issue 9, defect 8)', () => {
  const consul = useRealConsul();

  it('get different default candidate service names', () => {
    const base = uniqueKey('similar-names');
    const keys = [
      `${base}/jobs/job.a`,
      `${base}/jobs/job-a`,
      `${base}-jobs-job-a`,
      `${base}/jobs-job-a`,
    ];
    const names = keys.map(
      (key) =>
        new LeaderElection({ key, instanceId: 'i', ...FAST_TIMINGS }).options.healthCheck!
          .serviceName,
    );
    expect({ names, distinct: new Set(names).size }).toEqual({ names, distinct: keys.length });
  });

  it("have leaders that never name the other key's candidates as successors", async () => {
    const base = uniqueKey('similar-keys');
    const dotted = `${base}/jobs/job.a`;
    const dashed = `${base}/jobs/job-a`;
    // The dashed key's candidates are registered first, so they stand first in a shared service.
    const dashedIds = ['dash-1', 'dash-2'];
    const dottedIds = ['dot-1', 'dot-2'];
    const dashedElections = dashedIds.map((id) => consul.candidate(dashed, id));
    dashedElections[0].start();
    await waitForState(dashedElections[0], (s) => s.role === 'leader');
    dashedElections[1].start();
    await waitUntilNamedSuccessor(consul.agent, dashed, 'dash-2');

    const dottedElections = dottedIds.map((id) => consul.candidate(dotted, id));
    dottedElections[0].start();
    await waitForState(dottedElections[0], (s) => s.role === 'leader');
    dottedElections[1].start();
    await waitUntilNamedSuccessor(consul.agent, dotted, 'dot-2');

    const successors = {
      [dotted]: (await readLeaderValue(consul.agent, dotted))?.successors,
      [dashed]: (await readLeaderValue(consul.agent, dashed))?.successors,
    };
    expect(successors).toEqual({ [dotted]: ['dot-2'], [dashed]: ['dash-2'] });
  });
});
