export {
  ConsulLeaderServiceStub,
  createConsulLeaderServiceStub,
  type ConsulLeaderServiceStubOptions,
} from './consul-leader-service.stub';
export type { ClusterCronRun } from './on-demand-jobs';
