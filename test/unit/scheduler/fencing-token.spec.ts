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

  it('costs two Raft writes per fire in steady state, the claim and the outcome, and at most four reads', async () => {
    const a = await world.instance('a');
    await world.lead(a);
    world.run(a);
    await world.until(at(2));
    const writesBefore = world.model.writes.length;
    const sentBefore = new Map(a.link.sent);
    await world.until(at(52));
    const fires = world.started().length;
    expect(fires).toBe(10);
    expect((world.model.writes.length - writesBefore) / fires).toBe(2);
    const per = (name: string): number =>
      ((a.link.sent.get(name) ?? 0) - (sentBefore.get(name) ?? 0)) / fires;
    expect(per('Transaction.create')).toBe(2);
    expect(per('kv.get')).toBeLessThanOrEqual(4);
    process.stdout.write(
      `per fire: ${per('Transaction.create')} transactions, ${per('kv.get')} reads\n`,
    );
  });
});
