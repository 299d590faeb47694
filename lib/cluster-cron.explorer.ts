import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, ModuleRef } from '@nestjs/core';
import { ClusterCronMessages } from './cluster-cron.messages';
import { resolveClusterJob, type DeclaredJob } from './cluster-cron.jobs';
import { CONSUL_LEADER_NAME } from './consul-leader.constants';
import { consulLeaderLoggerContext } from './consul-leader.service';
import { getConsulLeaderToken } from './consul-leader.tokens';
import { getClusterCronMetadata } from './decorators/cluster-cron.decorator';
import type { FireContext } from './scheduler/cluster-job';

/**
 * Collects the app's `@ClusterCron` methods that one election runs, at `onModuleInit` (every instance
 * exists, nothing runs yet), and checks them: options, names unique within the election, each named
 * election present. A wrong job fails the bootstrap here. What runs them is `ClusterScheduler`.
 */
@Injectable()
export class ClusterCronExplorer implements OnModuleInit {
  private found: readonly DeclaredJob[] = [];

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly metadataScanner: MetadataScanner,
    private readonly moduleRef: ModuleRef,
    @Inject(CONSUL_LEADER_NAME) private readonly name: string | null,
  ) {}

  /** The jobs this election runs, in the order found. */
  get jobs(): readonly DeclaredJob[] {
    return this.found;
  }

  onModuleInit(): void {
    const jobs: DeclaredJob[] = [];
    const seen = new Set<object>();
    for (const wrapper of [...this.discovery.getControllers(), ...this.discovery.getProviders()]) {
      const instance = wrapper.instance as Record<string, unknown> | null | undefined;
      if (wrapper.isAlias || !instance || typeof instance !== 'object' || seen.has(instance))
        continue;
      seen.add(instance);
      const prototype = Object.getPrototypeOf(instance) as Record<string, unknown>;
      for (const method of this.metadataScanner.getAllMethodNames(prototype)) {
        const metadata = getClusterCronMetadata(prototype[method]);
        if (!metadata) continue;
        const declaredAt = `${instance.constructor.name}.${method}`;
        if (!wrapper.isDependencyTreeStatic() || wrapper.isTransient)
          throw new Error(ClusterCronMessages.notSingleton(declaredAt));
        // Called on the instance, so that a wrapper such as @LeaderOnly's runs too.
        const handler = (context: FireContext): unknown =>
          (instance[method] as (context: FireContext) => unknown)(context);
        const job = resolveClusterJob(declaredAt, metadata, handler);
        if (job.election === this.name) jobs.push(job);
        else this.requireElection(job);
      }
    }
    const byName = new Map<string, string[]>();
    for (const job of jobs) byName.set(job.name, [...(byName.get(job.name) ?? []), job.declaredAt]);
    for (const [name, places] of byName)
      if (places.length > 1) throw new Error(ClusterCronMessages.duplicateName(name, places));
    this.found = jobs;
    if (jobs.length > 0)
      new Logger(consulLeaderLoggerContext(this.name)).debug(
        ClusterCronMessages.jobsFound(jobs.map((job) => job.name)),
      );
  }

  /** Another election's explorer collects the job; this one only checks that election exists. */
  private requireElection(job: DeclaredJob): void {
    try {
      this.moduleRef.get(getConsulLeaderToken(job.election ?? undefined), { strict: false });
    } catch {
      throw new Error(
        ClusterCronMessages.missingElection(job.declaredAt, job.election ?? 'default'),
      );
    }
  }
}
