/** Logger context of the default election; a named one logs as `ConsulLeader:<name>`. */
export const CONSUL_LEADER_LOGGER_CONTEXT = 'ConsulLeader';

/** Token of the module options (one provider per module instance, so per election). */
export const CONSUL_LEADER_MODULE_OPTIONS = 'nestjs-consul-leader:module-options';

/** Module-local token of the election's name (`null` for the default election). */
export const CONSUL_LEADER_NAME = 'nestjs-consul-leader:name';

/** Module-local token of where this election was registered (a {@link ConsulLeaderOrigin}). */
export const CONSUL_LEADER_ORIGIN = 'nestjs-consul-leader:origin';

/** Module-local token of the core `LeaderElection` this module instance drives. */
export const CONSUL_LEADER_ELECTION = 'nestjs-consul-leader:election';

/**
 * On a `@LeaderOnly` wrapper: the name of the election it follows (`null` for the default one).
 * `LeaderOnlyGuard` reads it to pick the election of a handler.
 */
export const LEADER_ONLY_METADATA = 'nestjs-consul-leader:leader-only';

/**
 * On a class: the election names its `@LeaderOnly` methods follow. The explorer reads it to find
 * instances that dependency injection did not property-inject (`useFactory`/`useValue` providers).
 */
export const LEADER_ONLY_ELECTIONS_METADATA = 'nestjs-consul-leader:leader-only-elections';

/**
 * The method a `@LeaderOnly` wrapper calls on the service it reaches: runs the call when this
 * instance leads and counts it in flight until it settles. A symbol so that it stays out of the
 * public API; `Symbol.for` so that two copies of the library in one process agree on it.
 */
export const RUN_AS_LEADER = Symbol.for('nestjs-consul-leader:run-as-leader');

/**
 * The method `LeaderOnlyGuard` calls on a service to learn how to answer a follower's caller (leader,
 * when one is expected, where to redirect). A symbol for the same reasons as {@link RUN_AS_LEADER}.
 */
export const FOLLOWER_ANSWER = Symbol.for('nestjs-consul-leader:follower-answer');

/** On a `@ClusterCron` method: its cron expression and options ({@link ClusterCronMetadata}). */
export const CLUSTER_CRON_METADATA = 'nestjs-consul-leader:cluster-cron';

/**
 * The method through which the Nest layer hands an app's `@ClusterCron` jobs to a stand-in of the
 * service (the testing stub), which runs them on demand instead of on a schedule.
 */
export const ATTACH_CLUSTER_JOBS = Symbol.for('nestjs-consul-leader:attach-cluster-jobs');

/** Module-local token of the election's {@link LeaderWorkDrains}. */
export const CONSUL_LEADER_DRAINS = 'nestjs-consul-leader:drains';
