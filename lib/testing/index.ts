export {
  ConsulLeaderServiceStub,
  createConsulLeaderServiceStub,
  type ConsulLeaderServiceStubOptions,
} from './consul-leader-service.stub';
