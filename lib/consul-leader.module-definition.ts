import {
  ConfigurableModuleBuilder,
  Logger,
  type DynamicModule,
  type Provider,
} from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { ElectionOptionsError, LeaderElection } from './election';
import { ElectionMessages } from './election/election.messages';
import { refuseUnknownKeys, type KnownKeys } from './election/options/option-keys';
import { ELECTION_OPTION_KEYS } from './election/options/resolve-election-options';
import {
  CONSUL_LEADER_DRAINS,
  CONSUL_LEADER_ELECTION,
  CONSUL_LEADER_MODULE_OPTIONS,
  CONSUL_LEADER_NAME,
  CONSUL_LEADER_ORIGIN,
} from './consul-leader.constants';
import { ClusterCronExplorer } from './cluster-cron.explorer';
import { ClusterScheduler } from './cluster-scheduler.service';
import { getClusterSchedulerToken } from './cluster-scheduler.tokens';
import { LeaderWorkDrains } from './consul-leader.drains';
import { ConsulLeaderExplorer } from './consul-leader.explorer';
import {
  EXTRA_IN_OPTIONS,
  INVALID_MODULE_EXTRA,
  INVALID_MODULE_OPTIONS,
} from './consul-leader.messages';
import type { ConsulLeaderOrigin } from './consul-leader.origin';
import { ConsulLeaderService, consulLeaderLoggerContext } from './consul-leader.service';
import { getConsulLeaderToken, normalizeElectionName } from './consul-leader.tokens';
import type {
  ConsulLeaderHttpOptions,
  ConsulLeaderModuleExtras,
  ConsulLeaderModuleOptions,
} from './interfaces/consul-leader-module-options.interface';

/** Every option `forRoot` and a `forRootAsync` factory may give: the core's and the module's own. */
const MODULE_OPTION_KEYS: KnownKeys<ConsulLeaderModuleOptions> = {
  ...ELECTION_OPTION_KEYS,
  waitForElection: true,
  http: true,
  metrics: true,
};
const HTTP_OPTION_KEYS: KnownKeys<ConsulLeaderHttpOptions> = { redirectTo: true };

export const {
  ConfigurableModuleClass: ConfigurableConsulLeaderModule,
  OPTIONS_TYPE: CONSUL_LEADER_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: CONSUL_LEADER_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<ConsulLeaderModuleOptions>({
  optionsInjectionToken: CONSUL_LEADER_MODULE_OPTIONS,
})
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createConsulLeaderOptions')
  .setExtras<ConsulLeaderModuleExtras>({ isGlobal: true, name: undefined }, withElection)
  .build();

/**
 * Completes the module that `forRoot`/`forRootAsync` built around the options provider. Every
 * provider here is local to this module instance; only the service's and the `ClusterScheduler`'s
 * tokens are exported. A named election gets a different token and a name provider, so its dynamic module differs from the
 * default one's and Nest makes it a separate module instance with its own options, election,
 * service and explorer: `forRoot({ name: 'a' })` and `forRoot({ name: 'b' })` live side by side.
 */
function withElection(definition: DynamicModule, extras: ConsulLeaderModuleExtras): DynamicModule {
  const name = normalizeElectionName(extras.name);
  if (typeof extras.isGlobal !== 'boolean')
    throw new ElectionOptionsError(
      'isGlobal',
      INVALID_MODULE_EXTRA(name, 'isGlobal', extras.isGlobal),
    );
  const token = getConsulLeaderToken(extras.name);
  const service: Provider =
    token === ConsulLeaderService
      ? ConsulLeaderService
      : { provide: token, useClass: ConsulLeaderService };
  const schedulerToken = getClusterSchedulerToken(extras.name);
  const scheduler: Provider =
    schedulerToken === ClusterScheduler
      ? ClusterScheduler
      : { provide: schedulerToken, useClass: ClusterScheduler };
  return {
    ...definition,
    global: extras.isGlobal,
    imports: [...(definition.imports ?? []), DiscoveryModule],
    providers: [
      ...(definition.providers ?? []),
      { provide: CONSUL_LEADER_NAME, useValue: name },
      { provide: CONSUL_LEADER_DRAINS, useFactory: () => new LeaderWorkDrains() },
      {
        provide: CONSUL_LEADER_ELECTION,
        useFactory: createElection,
        inject: [CONSUL_LEADER_MODULE_OPTIONS, CONSUL_LEADER_NAME, CONSUL_LEADER_ORIGIN],
      },
      service,
      ConsulLeaderExplorer,
      ClusterCronExplorer,
      scheduler,
    ],
    exports: [token, schedulerToken],
  };
}

/**
 * Builds the core election when the app is created, so that invalid options fail the bootstrap with
 * the core's message (which names the field, the value and the accepted range), prefixed with the
 * module call it came from. Nothing talks to Consul before `onApplicationBootstrap`.
 */
function createElection(
  options: ConsulLeaderModuleOptions | undefined,
  name: string | null,
  origin: ConsulLeaderOrigin,
): LeaderElection {
  const {
    waitForElection,
    http: _http,
    metrics: _metrics,
    ...electionOptions
  } = options ?? ({} as ConsulLeaderModuleOptions);
  try {
    // A factory's result gets no excess-property check from the compiler: a typo is caught here.
    for (const extra of ['name', 'isGlobal'] as const) {
      if (options && extra in options)
        throw new ElectionOptionsError(extra, EXTRA_IN_OPTIONS(extra));
    }
    if (options) refuseUnknownKeys(options, MODULE_OPTION_KEYS);
    if (typeof options?.http === 'object' && options.http !== null)
      refuseUnknownKeys(options.http, HTTP_OPTION_KEYS, 'http');
    if (waitForElection !== undefined && typeof waitForElection !== 'boolean') {
      throw new ElectionOptionsError(
        'waitForElection',
        ElectionMessages.optionOutOfRange('waitForElection', waitForElection, 'true or false'),
      );
    }
    return new LeaderElection({
      ...electionOptions,
      logger: electionOptions.logger ?? new Logger(consulLeaderLoggerContext(name)),
    });
  } catch (error) {
    if (error instanceof ElectionOptionsError) {
      const withContext = new ElectionOptionsError(
        error.field,
        INVALID_MODULE_OPTIONS(name, origin.method, error.message),
      );
      withContext.cause = error;
      throw withContext;
    }
    throw error;
  }
}

/** Records where the election was registered (see `ConsulLeaderModule.forRoot`/`forRootAsync`). */
export function withOrigin(module: DynamicModule, origin: ConsulLeaderOrigin): DynamicModule {
  return {
    ...module,
    providers: [...(module.providers ?? []), { provide: CONSUL_LEADER_ORIGIN, useValue: origin }],
  };
}
