export type {
  ConsulLeaderHttpOptions,
  ConsulLeaderModuleExtras,
  ConsulLeaderModuleOptions,
  ConsulLeaderOptionsFactory,
} from './consul-leader-module-options.interface';
export type { ConsulLeader, LeaderOnlyRunner } from './consul-leader.interface';
