import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { ClusterCronExplorer } from './cluster-cron.explorer';
import type { DeclaredJob } from './cluster-cron.jobs';
import { ClusterCronMessages } from './cluster-cron.messages';
import {
  ATTACH_CLUSTER_JOBS,
  CONSUL_LEADER_DRAINS,
  CONSUL_LEADER_ELECTION,
  CONSUL_LEADER_MODULE_OPTIONS,
  CONSUL_LEADER_NAME,
} from './consul-leader.constants';
import type { LeaderWorkDrains } from './consul-leader.drains';
import { consulLeaderLoggerContext } from './consul-leader.service';
import { getConsulLeaderToken } from './consul-leader.tokens';
import { NodeConsulPort, systemClock, type LeaderElection } from './election';
import type { ConsulPort } from './election/consul/consul-port';
import type { ConsulLeaderModuleOptions } from './interfaces/consul-leader-module-options.interface';
import type { ClusterJobDescription } from './interfaces/cluster-job-description.interface';
import { clusterCronMetrics } from './metrics/cluster-cron-metrics';
import { defaultMeter } from './metrics/default-meter';
import type { SchedulerPort } from './scheduler/claim';
import { ClockOffset } from './scheduler/clock-offset';
import type { ClusterJob, FireEvent } from './scheduler/cluster-job';
import { FireSchedule } from './scheduler/fire-times';
import { listJobRecords, type ListedRecord } from './scheduler/job-listing';
import { jobRecordKey } from './scheduler/job-record';
import { JobRunner, type TriggeredFire } from './scheduler/job-runner';
import { electionLeadership } from './scheduler/leadership';

/** A stand-in service (the testing stub) that runs the jobs itself, on demand. */
interface ClusterJobHost {
  [ATTACH_CLUSTER_JOBS](jobs: readonly ClusterJob[]): void;
}

/**
 * Runs one election's `@ClusterCron` jobs and tells about them. Inject it by type for the default
 * election, with `@Inject(getClusterSchedulerToken(name))` for a named one.
 *
 * Lifecycle: at `onApplicationBootstrap` it starts one runner per job on the election; a runner claims
 * and runs fires only while this instance leads. At `beforeApplicationShutdown` every running fire's
 * signal aborts and the runners stop, waiting up to the election's `drainTimeout` for the runs to end
 * and their outcomes to be written.
 */
@Injectable()
export class ClusterScheduler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger: Logger;
  private readonly runners = new Map<string, JobRunner>();
  private port: (SchedulerPort & Partial<Pick<ConsulPort, 'close'>>) | null = null;
  private ownsPort = false;
  private disposeLeadership: () => void = () => undefined;
  private readonly clockOffset = new ClockOffset();

  constructor(
    @Inject(CONSUL_LEADER_ELECTION) private readonly election: LeaderElection,
    @Inject(CONSUL_LEADER_MODULE_OPTIONS) private readonly options: ConsulLeaderModuleOptions,
    @Inject(CONSUL_LEADER_NAME) private readonly name: string | null,
    private readonly explorer: ClusterCronExplorer,
    private readonly moduleRef: ModuleRef,
    @Inject(CONSUL_LEADER_DRAINS) private readonly drains: LeaderWorkDrains,
  ) {
    this.logger = new Logger(consulLeaderLoggerContext(name));
  }

  /** The names of this election's jobs. */
  get jobNames(): string[] {
    return this.explorer.jobs.map((job) => job.name);
  }

  /** The jobs this instance runs now: all of them while it leads the election, else none. */
  ownedJobs(): string[] {
    return this.runners.size > 0 && this.election.isLeader() ? this.jobNames : [];
  }

  async onApplicationBootstrap(): Promise<void> {
    const jobs = this.explorer.jobs;
    if (jobs.length === 0) return;
    const service = this.moduleRef.get<unknown>(getConsulLeaderToken(this.name ?? undefined), {
      strict: false,
    });
    if (isJobHost(service)) {
      service[ATTACH_CLUSTER_JOBS](jobs);
      return;
    }
    const port = this.schedulerPort();
    const { requestTimeoutMs, key } = this.election.options;
    const leadership = electionLeadership(this.election, port, requestTimeoutMs);
    // The election releases its key (resign, shutdown) only once the runs its step-down aborted
    // have ended and their outcomes are written, while its session still vouches for them.
    const started: JobRunner[] = [];
    const removeDrain = this.drains.add(() =>
      Promise.all(started.map((runner) => runner.settled())),
    );
    this.disposeLeadership = () => {
      removeDrain();
      leadership.dispose();
    };
    const meter = this.options.metrics === false ? null : defaultMeter();
    const measure = meter
      ? clusterCronMetrics(meter, { key, instanceId: this.election.instanceId })
      : null;
    const onEvent = (event: FireEvent): void => measure?.(event);
    for (const job of jobs) {
      const runner = new JobRunner({
        job,
        port,
        clock: this.options.clock ?? systemClock,
        leadership,
        instanceId: this.election.instanceId,
        recordKey: jobRecordKey(key, job.name),
        requestTimeoutMs,
        logger: this.options.logger ?? this.logger,
        onEvent,
        clockOffset: this.clockOffset,
      });
      this.runners.set(job.name, runner);
      started.push(runner);
      runner.start();
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    const runners = [...this.runners.values()];
    this.runners.clear();
    const bound = this.election.options.drainTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), bound);
    });
    const stopped = Promise.all(runners.map((runner) => runner.stop())).then(() => false);
    if (await Promise.race([stopped, timedOut]))
      this.logger.warn(ClusterCronMessages.stopTimedOut(bound));
    clearTimeout(timer);
    this.disposeLeadership();
    if (this.ownsPort) this.port?.close?.();
  }

  /**
   * Each job of this election: its schedule, who runs it, its last fire and how it ended, its last
   * skipped fire, its next fire. One read of Consul (`<key>/jobs/` as a prefix) whatever the number
   * of jobs; works on every instance, leader or not.
   */
  async describe(): Promise<ClusterJobDescription[]> {
    const { key, requestTimeoutMs } = this.election.options;
    const records = await listJobRecords(this.schedulerPort(), key, requestTimeoutMs);
    const owner = this.election.state.leader?.instanceId ?? null;
    const now = Date.now();
    return this.explorer.jobs.map((job) =>
      describeJob(job, records.get(job.name), owner, this.election.instanceId, now),
    );
  }

  /**
   * Runs a fire of `name` now, claimed and fenced like a scheduled one (see `JobRunner.trigger`):
   * a manual fire at T = now, once the scheduled fires due by now are decided. Resolves with its fire
   * time and token when it starts. Call it on the instance that runs the jobs (the leader): elsewhere
   * it rejects, as it does when the overlap policy is `skip` and the previous run still runs.
   */
  trigger(name: string): Promise<TriggeredFire> {
    const runner = this.runners.get(name);
    if (!runner)
      return Promise.reject(new Error(ClusterCronMessages.unknownJob(name, this.jobNames)));
    return runner.trigger();
  }

  /** The module's own port when it can run transactions; else one of the election's address. */
  private schedulerPort(): SchedulerPort {
    if (this.port) return this.port;
    const given = this.options.consulPort as (ConsulPort & Partial<SchedulerPort>) | undefined;
    if (given) {
      if (typeof given.transact !== 'function' || typeof given.sessionAlive !== 'function')
        throw new Error(ClusterCronMessages.noTxnPort(this.election.options.key));
      this.port = given as SchedulerPort & ConsulPort;
    } else {
      this.port = new NodeConsulPort(this.election.options.consul);
      this.ownsPort = true;
    }
    return this.port;
  }
}

function isJobHost(service: unknown): service is ClusterJobHost {
  return (
    typeof service === 'object' &&
    service !== null &&
    typeof (service as Partial<ClusterJobHost>)[ATTACH_CLUSTER_JOBS] === 'function'
  );
}

function describeJob(
  job: DeclaredJob,
  listed: ListedRecord | undefined,
  owner: string | null,
  instanceId: string,
  now: number,
): ClusterJobDescription {
  const record = listed?.record ?? null;
  const run = record?.run ?? null;
  const token = run ? (run.token ?? listed!.modifyIndex) : null;
  const schedule = new FireSchedule(job.cronTime, job.timeZone);
  return {
    name: job.name,
    cronTime: job.cronTime,
    timeZone: job.timeZone ?? null,
    owner,
    ownedHere: owner !== null && owner === instanceId,
    lastFire: run && {
      fireTime: new Date(run.fireTime),
      state: run.state,
      owner: run.owner,
      attempt: run.attempt,
      fencingToken: token!,
      startedAt: new Date(run.startedAt),
      endedAt: run.endedAt === undefined ? null : new Date(run.endedAt),
      error: run.error ?? null,
    },
    lastSkip: record?.lastSkip
      ? {
          fireTime: new Date(record.lastSkip.fireTime),
          reason: record.lastSkip.reason,
          by: record.lastSkip.by,
        }
      : null,
    nextFire: new Date(schedule.next(Math.max(record?.decidedThrough ?? 0, now))),
    fencingToken: token,
    ...(listed?.error ? { recordError: listed.error } : {}),
  };
}
