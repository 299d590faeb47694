// The second adversarial review's findings on the Nest layer's leader-only work. Each spec failed on
// the code it was written against (d5e986b); see the review report for the interleaving and the fix.
import 'reflect-metadata';
import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { defer, lastValueFrom, of, type Observable } from 'rxjs';
import {
  ConsulLeaderModule,
  ConsulLeaderService,
  LeaderOnly,
  createConsulLeaderServiceStub,
  type ConsulLeaderServiceStub,
} from '../../../lib';
import { captureLogs } from './helpers';

/** A query builder in the style of knex or Drizzle: its query runs when `then` is called. */
class LazyQuery implements PromiseLike<string> {
  executions = 0;
  then<A = string, B = never>(
    onFulfilled?: ((value: string) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): PromiseLike<A | B> {
    this.executions += 1;
    return Promise.resolve('deleted').then(onFulfilled, onRejected);
  }
}

@Injectable()
class Jobs {
  release: () => void = () => undefined;
  readonly seen: Array<{ aborted: boolean; fencingToken: number | null }> = [];
  readonly query = new LazyQuery();
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
  let logs: ReturnType<typeof captureLogs>;
  let stub: ConsulLeaderServiceStub;
  let jobs: Jobs;
  let close: () => Promise<void>;

  beforeEach(async () => {
    logs = captureLogs();
    stub = createConsulLeaderServiceStub({ leader: true });
    const moduleRef = await Test.createTestingModule({
      imports: [ConsulLeaderModule.forRoot({ key: 'test/unit/review2', consul: { port: 1 } })],
      providers: [Jobs],
    })
      .overrideProvider(ConsulLeaderService)
      .useValue(stub)
      .compile();
    await moduleRef.init();
    jobs = moduleRef.get(Jobs);
    close = () => moduleRef.close();
  });
  afterEach(() => logs.restore());

  it('a call of a method that is not a native async function keeps its own term’s signal and token after an await', async () => {
    const running = jobs.downleveledAsync();
    stub.becomeFollower();
    stub.becomeLeader(); // term 2, token 2: the call of term 1 must not fence with it
    jobs.release();
    await running;
    expect(jobs.seen).toEqual([{ aborted: true, fencingToken: 1 }]);
    await close();
  });

  it('a lazy query returned in a term but executed after that term ended and drained does not run', async () => {
    const query = jobs.purge()!;
    await stub.resign(); // the term ends; nothing is in flight, so the drain is over at once
    // The successor may act now (a drained resign writes the marker); the query must not run.
    await Promise.resolve(query).catch(() => undefined);
    expect(jobs.query.executions).toBe(0);
    await close();
  });

  it('a cold Observable returned in a term but subscribed after that term ended and drained does not run', async () => {
    const sweep = jobs.sweep()!;
    await stub.resign();
    await lastValueFrom(sweep).catch(() => undefined);
    expect(jobs.observableRuns).toBe(0);
    await close();
  });
});
