import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { distinctUntilChanged, skip, startWith, Subscription } from 'rxjs';
import { ConsulLeaderService, type LeaderInfo } from '../lib';

/** Logs this instance's leadership and who leads the cluster, as the two observables report them. */
@Injectable()
export class LeadershipLoggerService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Leadership');
  private readonly subscriptions = new Subscription();

  constructor(private readonly leadership: ConsulLeaderService) {}

  onModuleInit(): void {
    this.subscriptions.add(
      // Only changes: `startWith(false)` + `skip(1)` drop the initial "not leader" of every instance.
      this.leadership.isLeader$
        .pipe(startWith(false), distinctUntilChanged(), skip(1))
        .subscribe((isLeader) =>
          this.logger.log(
            isLeader
              ? `became leader (fencing token ${this.leadership.fencingToken})`
              : 'stepped down',
          ),
        ),
    );
    this.subscriptions.add(
      this.leadership.leader$
        .pipe(distinctUntilChanged((a, b) => sameHolding(a, b)))
        .subscribe((leader) => this.logger.log(describe(leader))),
    );
  }

  onModuleDestroy(): void {
    this.subscriptions.unsubscribe();
  }
}

function sameHolding(a: LeaderInfo | null | undefined, b: LeaderInfo | null | undefined): boolean {
  return (
    a === b || (!!a && !!b && a.instanceId === b.instanceId && a.fencingToken === b.fencingToken)
  );
}

function describe(leader: LeaderInfo | null | undefined): string {
  // Not "nobody": before the first read of the key, or Consul unreachable for longer than the lease.
  if (leader === undefined) return 'leader is not known';
  if (leader === null) return 'leader is nobody';
  return `leader is ${leader.instanceId} (fencing token ${leader.fencingToken}, since ${leader.since.toISOString()})`;
}
