// Scenario 1, graceful handoff: the leader leaves (core `stop()`, or Nest `app.close()`) and the
// follower leads. Measured alternately with `consul lock` (SIGTERM to the holder → the waiter's
// child runs), so that both series see the same machine noise and ratios are taken pair by pair.
import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { filter, firstValueFrom } from 'rxjs';
import { ConsulLeaderModule, ConsulLeaderService } from '../../lib';
import { LeaderElection } from '../../lib/election';
import { resolveElectionOptions } from '../../lib/election/options/resolve-election-options';
import { waitForCandidates, waitForSessions } from '../lib/candidates';
import { ConsulLockContender } from '../lib/consul-lock';
import { silentLogger, type BenchContext } from '../lib/context';
import { delay } from '../../harness';
import { pairedRatios, summarize, type Distribution } from '../lib/stats';

export interface HandoffResult {
  readonly core: Distribution;
  readonly nest: Distribution;
  readonly consulLock: Distribution;
  /** core[i] / consulLock[i]. */
  readonly ratioCoreToConsulLock: Distribution;
  readonly what: string;
}

const TIMEOUT_MS = 30_000;

export async function runHandoff(ctx: BenchContext): Promise<HandoffResult> {
  const n = ctx.quick ? 10 : 60;
  const core: number[] = [];
  const nest: number[] = [];
  const lock: number[] = [];

  const coreKey = ctx.uniqueKey('handoff-core');
  const nestKey = ctx.uniqueKey('handoff-nest');
  const lockPrefix = ctx.uniqueKey('handoff-consul-lock');
  const consul = { host: ctx.agent.host, port: ctx.agent.port };
  const httpAddr = `${ctx.agent.host}:${ctx.agent.port}`;

  const newElection = (key: string, i: number): LeaderElection =>
    new LeaderElection({ key, instanceId: `core-${i}`, consul, logger: silentLogger });
  const ready = async (key: string, election: LeaderElection): Promise<void> => {
    await election.whenSettled();
    await waitForCandidates(
      ctx.agent.address,
      election.options.healthCheck!.serviceName,
      2,
      TIMEOUT_MS,
    );
    await waitForSessions(ctx.agent.address, (name) => name.startsWith(`${key}#`), 2, TIMEOUT_MS);
  };

  let leader = newElection(coreKey, 0);
  leader.start();
  await firstValueFrom(leader.state$.pipe(filter((s) => s.role === 'leader')));

  let leaderApp = await nestApp(nestKey, 'nest-0', consul);
  await firstValueFrom(leaderApp.get(ConsulLeaderService).isLeader$.pipe(filter(Boolean)));

  let holder = new ConsulLockContender(ctx.registry, ctx.agent.binary, httpAddr, lockPrefix);
  await holder.whenRunning(TIMEOUT_MS);

  try {
    for (let i = 1; i <= n; i++) {
      // ours, core: stop() → the follower's state says leader
      const follower = newElection(coreKey, i);
      follower.start();
      await ready(coreKey, follower);
      await delay(50);
      const led = firstValueFrom(follower.state$.pipe(filter((s) => s.role === 'leader')));
      const t0 = performance.now();
      const stopped = leader.stop();
      await led;
      core.push(performance.now() - t0);
      await stopped;
      leader = follower;

      // consul lock: SIGTERM to the holder → the waiter's child prints RUNNING
      const waiter = new ConsulLockContender(ctx.registry, ctx.agent.binary, httpAddr, lockPrefix);
      await waitForSessions(
        ctx.agent.address,
        (name) => name.includes(`at '${lockPrefix}'`),
        2,
        TIMEOUT_MS,
      );
      await delay(150);
      const l0 = performance.now();
      const terminated = holder.terminate();
      const l1 = await waiter.whenRunning(TIMEOUT_MS);
      lock.push(l1 - l0);
      await terminated;
      holder = waiter;

      // ours, Nest: app.close() → the follower app's isLeader$ emits true
      const followerApp = await nestApp(nestKey, `nest-${i}`, consul);
      const service = followerApp.get(ConsulLeaderService);
      await waitForCandidates(ctx.agent.address, serviceNameOf(nestKey), 2, TIMEOUT_MS);
      await waitForSessions(
        ctx.agent.address,
        (name) => name.startsWith(`${nestKey}#`),
        2,
        TIMEOUT_MS,
      );
      await delay(50);
      const nestLed = firstValueFrom(service.isLeader$.pipe(filter(Boolean)));
      const n0 = performance.now();
      const closed = leaderApp.close();
      await nestLed;
      nest.push(performance.now() - n0);
      await closed;
      leaderApp = followerApp;
      if (i % 10 === 0) ctx.log(`  handoff ${i}/${n}`);
    }
  } finally {
    await leader.stop();
    await leaderApp.close();
    await holder.terminate();
  }

  return {
    core: summarize(core),
    nest: summarize(nest),
    consulLock: summarize(lock),
    ratioCoreToConsulLock: pairedRatios(core, lock),
    what:
      'core: stop() called → follower state$ role leader (same process). nest: app.close() → follower app isLeader$ true. ' +
      'consul lock: SIGTERM to the holder → the waiter’s child prints RUNNING (includes its fork/exec). Default timings, direct to the agent.',
  };
}

/** The service name the library derives from the key by default. */
function serviceNameOf(key: string): string {
  return resolveElectionOptions({ key }).healthCheck!.serviceName;
}

async function nestApp(
  key: string,
  instanceId: string,
  consul: { host: string; port: number },
): Promise<INestApplicationContext> {
  @Module({
    imports: [
      ConsulLeaderModule.forRoot({
        key,
        instanceId,
        consul,
        logger: silentLogger,
        waitForElection: true,
      }),
    ],
  })
  class HandoffModule {}
  return NestFactory.createApplicationContext(HandoffModule, { logger: false });
}
