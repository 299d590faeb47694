// `nestjs-consul-leader/terminus`: a separate entry point, so that apps without `@nestjs/terminus`
// never load it.
export {
  ConsulLeaderHealthIndicator,
  type ConsulLeaderHealthOptions,
  type ConsulLeaderHealthProbe,
} from './consul-leader.health-indicator';
