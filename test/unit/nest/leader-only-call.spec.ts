// What a @LeaderOnly call gives back and how it is counted in flight: the wrapper must not change what
// the method returned (a lazy query builder runs once, a rejection still reaches the process), and
// work that outlives its term still sees the signal and fencing token of the term it started in.
import 'reflect-metadata';
import { Injectable } from '@nestjs/common';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { Observable, Subject, firstValueFrom, toArray } from 'rxjs';
import {
  ConsulLeaderService,
  LeaderOnly,
  LeadershipLostError,
  createConsulLeaderServiceStub,
} from '../../../lib';
import { LazyQuery, useLeaderOnlyJobs } from './leader-only-fixture';

/** A query in the style of Mongoose: a second execution throws. */
class OneShotQuery implements PromiseLike<string> {
  private executed = false;
  then<A = string, B = never>(
    onFulfilled?: ((value: string) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): PromiseLike<A | B> {
    if (this.executed)
      return Promise.reject(new Error('Query was already executed')).then(onFulfilled, onRejected);
    this.executed = true;
    return Promise.resolve('document').then(onFulfilled, onRejected);
  }
}

@Injectable()
class Jobs {
  readonly queries: LazyQuery[] = [];
  readonly seen: Array<{ aborted: boolean; reason: unknown; fencingToken: number | null }> = [];
  release: () => void = () => undefined;
  stream = new Subject<number>();

  constructor(readonly leadership: ConsulLeaderService) {}

  @LeaderOnly()
  purge(): LazyQuery {
    const query = new LazyQuery();
    this.queries.push(query);
    return query;
  }

  @LeaderOnly()
  findOne(): OneShotQuery {
    return new OneShotQuery();
  }

  @LeaderOnly()
  async fail(): Promise<void> {
    await Promise.resolve();
    throw new Error('the job failed');
  }

  @LeaderOnly()
  async longJob(): Promise<void> {
    await new Promise<void>((resolve) => (this.release = resolve));
    const { signal, fencingToken } = this.leadership;
    this.seen.push({ aborted: signal.aborted, reason: signal.reason, fencingToken });
  }

  @LeaderOnly()
  replies(): Observable<number> {
    return this.stream.asObservable();
  }
}

describe('a @LeaderOnly call', () => {
  const nest = useLeaderOnlyJobs(Jobs, 'test/unit/call');

  it('returns a lazy query builder that executes once when awaited', async () => {
    const result = await nest.jobs.purge();
    expect(result).toBe('rows #1');
    expect(nest.jobs.queries[0].executions).toBe(1);
    await nest.close();
  });

  it('returns a one-shot query that the caller can still execute', async () => {
    const document = await nest.jobs.findOne();
    expect(document).toBe('document');
    await nest.close();
  });

  it('lets a rejection of a fire-and-forget call reach unhandledRejection', () => {
    // In a process of its own: Jest handles unhandled rejections of its test files itself.
    const child = spawnSync(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', 'test/fixtures/fire-and-forget-rejection.ts'],
      { cwd: path.resolve(__dirname, '..', '..', '..'), encoding: 'utf8', timeout: 30_000 },
    );
    expect({ code: child.status, stdout: child.stdout.trim() }).toEqual({
      code: 0,
      stdout: 'unhandledRejection: the job failed',
    });
  });

  it('rejects to an awaiting caller with the error the method threw', async () => {
    await expect(nest.jobs.fail()).rejects.toThrow('the job failed');
    await nest.close();
  });

  it('keeps the signal and fencing token of the term it started in after that term ends', async () => {
    const running = nest.jobs.longJob();
    nest.stub.becomeFollower();
    nest.stub.becomeLeader(); // a new term with a new token: the running call must not see it
    nest.jobs.release();
    await running;
    expect(nest.jobs.seen).toEqual([
      { aborted: true, reason: expect.any(LeadershipLostError), fencingToken: 1 },
    ]);
    await nest.close();
  });

  it('counts an Observable in flight from subscription until it completes', async () => {
    const replies = nest.jobs.replies()!;
    const collected = firstValueFrom(replies.pipe(toArray()));
    expect(nest.stub.inFlightCalls).toBe(1);
    nest.jobs.stream.next(1);
    nest.jobs.stream.complete();
    expect(await collected).toEqual([1]);
    expect(nest.stub.inFlightCalls).toBe(0);
    await nest.close();
  });
});

describe('outside a @LeaderOnly call', () => {
  it('the signal is an already-aborted one when no term is open, never undefined', () => {
    const stub = createConsulLeaderServiceStub();
    expect(stub.signal).toBeInstanceOf(AbortSignal);
    expect(stub.signal.aborted).toBe(true);
    expect(stub.fencingToken).toBeNull();
  });
});
