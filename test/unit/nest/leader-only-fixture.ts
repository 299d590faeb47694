// What the @LeaderOnly specs share: a Nest module whose ConsulLeaderService is a stub that leads
// from the start, with a provider of `@LeaderOnly` jobs, and a lazy query to return from one.
import { Test } from '@nestjs/testing';
import type { Type } from '@nestjs/common';
import {
  ConsulLeaderModule,
  ConsulLeaderService,
  createConsulLeaderServiceStub,
  type ConsulLeaderServiceStub,
} from '../../../lib';
import { captureLogs } from './helpers';

/** A query builder in the style of knex or Drizzle: it runs its query each time `then` is called. */
export class LazyQuery implements PromiseLike<string> {
  executions = 0;

  constructor(private readonly rows: (execution: number) => string = (n) => `rows #${n}`) {}

  then<A = string, B = never>(
    onFulfilled?: ((value: string) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): PromiseLike<A | B> {
    this.executions += 1;
    return Promise.resolve(this.rows(this.executions)).then(onFulfilled, onRejected);
  }
}

export interface LeaderOnlyJobs<T> {
  /** Stands in for ConsulLeaderService: leading from the start (term 1, fencing token 1). */
  readonly stub: ConsulLeaderServiceStub;
  readonly jobs: T;
  /** Closes the module: its shutdown drains the leader-only work in flight. */
  close(): Promise<void>;
}

/**
 * For every test of the calling `describe`: a module with `Jobs` under ConsulLeaderModule (key
 * `key`, a port nobody answers on: the stub replaces the service), Nest's logs captured, closed after.
 */
export function useLeaderOnlyJobs<T>(Jobs: Type<T>, key: string): LeaderOnlyJobs<T> {
  let current: { stub: ConsulLeaderServiceStub; jobs: T; close(): Promise<void> } | undefined;
  let logs: ReturnType<typeof captureLogs> | undefined;
  const get = (): NonNullable<typeof current> => {
    if (!current) throw new Error('useLeaderOnlyJobs(): the module exists only inside a test');
    return current;
  };
  beforeEach(async () => {
    logs = captureLogs();
    const stub = createConsulLeaderServiceStub({ leader: true });
    const moduleRef = await Test.createTestingModule({
      imports: [ConsulLeaderModule.forRoot({ key, consul: { port: 1 } })],
      providers: [Jobs],
    })
      .overrideProvider(ConsulLeaderService)
      .useValue(stub)
      .compile();
    await moduleRef.init();
    let closing: Promise<void> | undefined;
    current = { stub, jobs: moduleRef.get(Jobs), close: () => (closing ??= moduleRef.close()) };
  });
  afterEach(async () => {
    logs?.restore();
    current = undefined;
  });
  return {
    get stub() {
      return get().stub;
    },
    get jobs() {
      return get().jobs;
    },
    close: () => get().close(),
  };
}
