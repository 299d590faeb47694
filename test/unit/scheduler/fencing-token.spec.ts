// The fencing token of a fire is the Raft index of the write that claimed it: it strictly grows per
// job across owners, graceful handoffs and crashes (docs/design/cluster-cron.md).
import { SchedulerWorld, at } from './scheduler-world';

describe('the fencing token', () => {
  let world: SchedulerWorld;
  beforeEach(() => {
    world = new SchedulerWorld();
  });
  afterEach(() => world.dispose());

  it('strictly grows from fire to fire across a graceful handoff and a crash', async () => {
    const a = await world.instance('a');
    const b = await world.instance('b');
    const c = await world.instance('c');
    await world.lead(a);
    for (const instance of [a, b, c]) world.run(instance);
    await world.until(at(11));
    await world.stepDown(a);
    await world.lead(b);
    await world.until(at(21));
    world.crash(b);
    await world.lead(c);
    await world.until(at(31));
    const started = world.started();
    expect(started.map(({ fire, by }) => [fire, by])).toEqual([
      [5, 'a'],
      [10, 'a'],
      [15, 'b'],
      [20, 'b'],
      [25, 'c'],
      [30, 'c'],
    ]);
    const tokens = started.map(({ token }) => token);
    expect(tokens).toEqual([...tokens].sort((x, y) => x - y));
    expect(new Set(tokens).size).toBe(tokens.length);
  });

  it('is the index of the claim write, which the record keeps once the run has ended', async () => {
    const a = await world.instance('a');
    await world.lead(a);
    world.run(a);
    await world.until(at(6));
    const claimWrites = world.model.writes.filter((write) => write.what === 'txn');
    const record = world.record();
    expect(record?.run).toMatchObject({ fireTime: at(5), state: 'done', owner: 'a' });
    expect(world.started()[0].token).toBe(record?.run?.token);
    expect(claimWrites.map((write) => write.index)).toContain(record?.run?.token);
  });
});
