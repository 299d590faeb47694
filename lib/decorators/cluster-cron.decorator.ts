import { CLUSTER_CRON_METADATA } from '../consul-leader.constants';
import { ClusterCronMessages } from '../cluster-cron.messages';
import type { ClusterCronOptions } from '../interfaces/cluster-cron-options.interface';

/** What `@ClusterCron` leaves on its method, for the explorer. */
export interface ClusterCronMetadata {
  readonly cronTime: string;
  readonly options: ClusterCronOptions;
}

/**
 * Runs the method on the schedule `cronTime`, once per fire across every instance of the app: each
 * fire time T is claimed in Consul by one transaction under the leader's session, so no (job, T) runs
 * twice, and a fire missed during a failover is run late or skipped by the `misfire` policy, never
 * dropped in silence (a log line and a metric say why). The method receives a {@link FireContext}:
 * `fireTime` (T itself), `fencingToken` (grows with every fire, across owners), `signal` (aborted
 * when this instance stops running the job) and `attempt`.
 *
 * The expression is `@Cron`'s (`@nestjs/schedule`): 6 fields with seconds or 5, `CronExpression`
 * values, `timeZone`. `ScheduleModule` is not needed. The jobs run on the leader of the module's
 * election (`options.election` for a named one); options are checked when the app starts.
 *
 * ```ts
 * @ClusterCron(CronExpression.EVERY_HOUR, { misfire: 'run-once' })
 * async report({ fireTime, fencingToken, signal }: FireContext) { ... }
 * ```
 */
export function ClusterCron(cronTime: string, options: ClusterCronOptions = {}): MethodDecorator {
  return (target, propertyKey, descriptor) => {
    const owner = typeof target === 'function' ? target : target.constructor;
    const declaredAt = `${owner.name}.${String(propertyKey)}`;
    if (typeof target === 'function' || typeof descriptor.value !== 'function')
      throw new Error(ClusterCronMessages.notAMethod(declaredAt));
    const metadata: ClusterCronMetadata = { cronTime, options };
    // On the function: a decorator above that wraps it (`@LeaderOnly`) carries it over.
    Reflect.defineMetadata(CLUSTER_CRON_METADATA, metadata, descriptor.value);
    return descriptor;
  };
}

export function getClusterCronMetadata(method: unknown): ClusterCronMetadata | undefined {
  if (typeof method !== 'function') return undefined;
  return Reflect.getMetadata(CLUSTER_CRON_METADATA, method) as ClusterCronMetadata | undefined;
}
