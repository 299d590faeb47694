export type {
  ConsulLeaderHttpOptions,
  ConsulLeaderModuleExtras,
  ConsulLeaderModuleOptions,
  ConsulLeaderOptionsFactory,
} from './consul-leader-module-options.interface';
export type { ConsulLeader, LeaderOnlyRunner } from './consul-leader.interface';
export type { ClusterCronOptions } from './cluster-cron-options.interface';
export type { ClusterJobDescription } from './cluster-job-description.interface';
