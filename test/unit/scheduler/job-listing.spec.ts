// describe()'s one read: every job record under <key>/jobs/, from a get-tree transaction.
import { listJobRecords } from '../../../lib/scheduler/job-listing';
import { ELECTION_KEY, SchedulerWorld, at } from './scheduler-world';

describe('listing the job records', () => {
  let world: SchedulerWorld;
  beforeEach(() => {
    world = new SchedulerWorld();
  });
  afterEach(() => world.dispose());

  it('reads every job of the election in one request, skipping keys that are not job records', async () => {
    const a = await world.instance('a');
    await world.lead(a);
    world.run(a, { name: 'report' });
    world.run(a, { name: 'export' });
    await world.until(at(6));
    world.model.kvPut(`${ELECTION_KEY}/jobs/export/extra`, 'not a job');
    world.model.kvPut(`${ELECTION_KEY}/jobs/broken`, '{"v":99}');
    const before = a.link.sent.get('Transaction.create') ?? 0;
    const listed = await listJobRecords(a.port, ELECTION_KEY, 1_000);
    expect(a.link.sent.get('Transaction.create')).toBe(before + 1);
    expect([...listed.keys()].sort()).toEqual(['broken', 'export', 'report']);
    expect(listed.get('report')?.record?.run).toMatchObject({ fireTime: at(5), state: 'done' });
    expect(listed.get('broken')).toMatchObject({
      record: null,
      error: expect.stringMatching(/version 99/),
    });
  });

  it('lists nothing, without failing, before any job fired', async () => {
    const a = await world.instance('a');
    expect((await listJobRecords(a.port, ELECTION_KEY, 1_000)).size).toBe(0);
  });
});
