// The second adversarial review's findings on the Nest layer's leader-only work. Each spec failed on
// the code it was written against (d5e986b); see the review report for the interleaving and the fix.
import 'reflect-metadata';
import { Injectable } from '@nestjs/common';
import { defer, lastValueFrom, of, type Observable } from 'rxjs';
import { ConsulLeaderService, LeaderOnly } from '../../../lib';
import { LazyQuery, useLeaderOnlyJobs } from './leader-only-fixture';

@Injectable()
class Jobs {
  release: () => void = () => undefined;
  readonly seen: Array<{ aborted: boolean; fencingToken: number | null }> = [];
  readonly query = new LazyQuery(() => 'deleted');
  observableRuns = 0;

  constructor(readonly leadership: ConsulLeaderService) {}

  /**
   * An async method as TypeScript emits it below ES2017 (`__awaiter`), Babel or SWC with an older
   * target, or a method that returns a promise chain: a plain function whose work continues later.
   */
  @LeaderOnly()
  downleveledAsync(): Promise<void> {
    const body = async (): Promise<void> => {
      await new Promise<void>((resolve) => (this.release = resolve));
      const { signal, fencingToken } = this.leadership;
      this.seen.push({ aborted: signal.aborted, fencingToken });
    };
    return body();
  }

  @LeaderOnly()
  purge(): LazyQuery {
    return this.query;
  }

  @LeaderOnly()
  sweep(): Observable<string> {
    return defer(() => {
      this.observableRuns += 1;
      return of('swept');
    });
  }
}

describe('review 2: leader-only work in the Nest layer', () => {
  const nest = useLeaderOnlyJobs(Jobs, 'test/unit/review2');

  it('a call of a method that is not a native async function keeps its own term’s signal and token after an await', async () => {
    const running = nest.jobs.downleveledAsync();
    nest.stub.becomeFollower();
    nest.stub.becomeLeader(); // term 2, token 2: the call of term 1 must not fence with it
    nest.jobs.release();
    await running;
    expect(nest.jobs.seen).toEqual([{ aborted: true, fencingToken: 1 }]);
    await nest.close();
  });

  it('a lazy query returned in a term but executed after that term ended and drained does not run', async () => {
    const query = nest.jobs.purge()!;
    await nest.stub.resign(); // the term ends; nothing is in flight, so the drain is over at once
    // The successor may act now (a drained resign writes the marker); the query must not run.
    await Promise.resolve(query).catch(() => undefined);
    expect(nest.jobs.query.executions).toBe(0);
    await nest.close();
  });

  it('a cold Observable returned in a term but subscribed after that term ended and drained does not run', async () => {
    const sweep = nest.jobs.sweep()!;
    await nest.stub.resign();
    await lastValueFrom(sweep).catch(() => undefined);
    expect(nest.jobs.observableRuns).toBe(0);
    await nest.close();
  });
});
