import { Module, type DynamicModule } from '@nestjs/common';
import {
  CONSUL_LEADER_ASYNC_OPTIONS_TYPE,
  CONSUL_LEADER_OPTIONS_TYPE,
  ConfigurableConsulLeaderModule,
  withOrigin,
} from './consul-leader.module-definition';
import { callSiteOf } from './consul-leader.origin';

/**
 * Leader election on a Consul key for a Nest app.
 *
 * ```ts
 * ConsulLeaderModule.forRoot({ key: 'service/billing/leader', consul: { host: '127.0.0.1', port: 8500 } })
 * ConsulLeaderModule.forRootAsync({ imports: [ConfigModule], inject: [ConfigService], useFactory: (config) => ({ ... }) })
 * ConsulLeaderModule.forRoot({ name: 'reports', key: 'service/reports/leader' }) // a second, named election
 * ```
 * Global by default (`isGlobal: false` to opt out). Options are validated when the app is created;
 * the election starts at `onApplicationBootstrap` and leaves at `beforeApplicationShutdown`
 * (see `ConsulLeaderService`), so call `app.enableShutdownHooks()` or `app.close()`.
 */
@Module({})
export class ConsulLeaderModule extends ConfigurableConsulLeaderModule {
  /** Registers an election with these options; `name` and `isGlobal` beside them. */
  static override forRoot(options: typeof CONSUL_LEADER_OPTIONS_TYPE): DynamicModule {
    const at = callSiteOf(ConsulLeaderModule.forRoot);
    return withOrigin(super.forRoot(options), { method: 'forRoot', at });
  }

  /**
   * Registers an election whose options come from `useFactory` (with `inject`, `imports`),
   * `useClass` or `useExisting` (a `ConsulLeaderOptionsFactory`). `name` and `isGlobal` are given
   * here, not by the factory: they shape the module before any option is known.
   */
  static override forRootAsync(options: typeof CONSUL_LEADER_ASYNC_OPTIONS_TYPE): DynamicModule {
    const at = callSiteOf(ConsulLeaderModule.forRootAsync);
    return withOrigin(super.forRootAsync(options), { method: 'forRootAsync', at });
  }
}
