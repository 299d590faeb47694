import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { DiscoveryService, MetadataScanner, ModuleRef, ModulesContainer } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper';
import { types } from 'node:util';
import {
  CONSUL_LEADER_ELECTION,
  CONSUL_LEADER_NAME,
  CONSUL_LEADER_ORIGIN,
  LEADER_ONLY_METADATA,
} from './consul-leader.constants';
import {
  describeOrigin,
  ELECTIONS_SHARE_KEY,
  ELECTIONS_SHARE_NAME,
  INSTANCE_SHARED_BETWEEN_APPS,
  LEADER_ONLY_METHODS_FOUND,
  MISSING_ELECTION,
} from './consul-leader.messages';
import { consulLeaderLoggerContext } from './consul-leader.service';
import { getConsulLeaderToken, leaderOnlyServiceKey } from './consul-leader.tokens';
import { getLeaderOnlyElections } from './decorators/leader-only.decorator';
import type { LeaderElection } from './election';
import type { ConsulLeaderOrigin } from './consul-leader.origin';

/**
 * Collects the app's `@LeaderOnly` instances for one election at `onModuleInit` (after every instance
 * exists, before anything runs). Nest's injector already gave class-made instances their service;
 * `useFactory`/`useValue` instances were made outside it, so the explorer hands them the service of
 * this app. It fails the bootstrap when an instance follows an election the app does not have.
 * Request-scoped and transient class instances are made later by the injector, which injects
 * them; request-scoped and transient factory providers are served as their factory makes them.
 */
@Injectable()
export class ConsulLeaderExplorer implements OnModuleInit, OnApplicationShutdown {
  private readonly logger: Logger;
  /** The useFactory/useValue instances this explorer handed the service, to let go at shutdown. */
  private readonly provided: Array<Record<symbol, unknown>> = [];

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly metadataScanner: MetadataScanner,
    private readonly moduleRef: ModuleRef,
    private readonly modules: ModulesContainer,
    @Inject(CONSUL_LEADER_NAME) private readonly name: string | null,
  ) {
    this.logger = new Logger(consulLeaderLoggerContext(name));
  }

  onModuleInit(): void {
    this.refuseTwoElectionsOfOneKeyOrName();
    const methods: string[] = [];
    for (const wrapper of [...this.discovery.getControllers(), ...this.discovery.getProviders()]) {
      if (wrapper.isFactory && (wrapper.isTransient || !wrapper.isDependencyTreeStatic())) {
        this.serveFactoryMade(wrapper);
        continue;
      }
      const instance = wrapper.instance as Record<symbol, unknown> | null | undefined;
      if (wrapper.isAlias || !instance || typeof instance !== 'object') continue;
      const elections = getLeaderOnlyElections(instance.constructor);
      if (elections.length === 0) continue;
      if (elections.includes(this.name)) methods.push(...this.leaderOnlyMethods(instance));
      if (!wrapper.isDependencyTreeStatic()) continue;
      for (const name of elections) {
        // Another election's explorer provides its own service; this one only checks it exists.
        if (name === this.name) this.provideService(wrapper, instance);
        else this.findService(name, instance);
      }
    }
    this.logger.debug(LEADER_ONLY_METHODS_FOUND([...new Set(methods)]));
  }

  /**
   * Lets go of the shared instances once the app has shut down (after the service drained), so that
   * the next app — the next test, a hot reload — can hand them its own service. Until an app does,
   * their `@LeaderOnly` methods are skipped (fail closed).
   */
  onApplicationShutdown(): void {
    const key = leaderOnlyServiceKey(this.name);
    for (const instance of this.provided.splice(0)) delete instance[key];
  }

  /**
   * Each `forRoot()` is a module instance with its own election. Two on one key would both campaign
   * from this process, and `@LeaderOnly` would follow one of them: when the other wins, the job runs
   * nowhere. Two with one name make injection follow one of them. Refused before anything starts.
   */
  private refuseTwoElectionsOfOneKeyOrName(): void {
    const byKey = new Map<string, string[]>();
    const byName = new Map<string | null, string[]>();
    for (const module of this.modules.values()) {
      const election = module.providers.get(CONSUL_LEADER_ELECTION)?.instance as
        LeaderElection | undefined;
      if (!election) continue;
      const name = module.providers.get(CONSUL_LEADER_NAME)?.instance as string | null;
      const origin = module.providers.get(CONSUL_LEADER_ORIGIN)?.instance as ConsulLeaderOrigin;
      const place = describeOrigin(origin ?? { method: 'forRoot', at: undefined });
      byKey.set(election.options.key, [...(byKey.get(election.options.key) ?? []), place]);
      byName.set(name, [...(byName.get(name) ?? []), place]);
    }
    for (const [key, places] of byKey)
      if (places.length > 1) throw new Error(ELECTIONS_SHARE_KEY(key, places));
    for (const [name, places] of byName)
      if (places.length > 1) throw new Error(ELECTIONS_SHARE_NAME(name, places));
  }

  /**
   * A transient or request-scoped factory provider makes its instances outside the injector's
   * property injection, when they are needed: those made so far (transient ones injected at
   * bootstrap) get the service now, and the factory is wrapped so that those it makes later get it
   * as they are made. What the factory returns is known only then, so an instance that follows an
   * election this app lacks is not refused at bootstrap: its methods are skipped (fail closed).
   */
  private serveFactoryMade(wrapper: InstanceWrapper): void {
    const give = (made: unknown): unknown => {
      if (made === null || typeof made !== 'object') return made;
      const instance = made as Record<symbol, unknown>;
      const key = leaderOnlyServiceKey(this.name);
      if (getLeaderOnlyElections(instance.constructor).includes(this.name) && !instance[key])
        instance[key] = this.findService(this.name, instance);
      return made;
    };
    for (const perContext of wrapper.getStaticTransientInstances())
      if (perContext?.instance) give(perContext.instance);
    const factory = wrapper.metatype as (...args: unknown[]) => unknown;
    const madeWithService = function (this: unknown, ...args: unknown[]): unknown {
      const made = factory.apply(this, args);
      return types.isPromise(made) ? made.then(give) : give(made);
    };
    Object.defineProperty(madeWithService, 'name', { value: factory.name, configurable: true });
    wrapper.metatype = madeWithService;
  }

  private provideService(wrapper: InstanceWrapper, instance: Record<symbol, unknown>): void {
    const key = leaderOnlyServiceKey(this.name);
    const service = this.findService(this.name, instance);
    const current = instance[key];
    if (current === undefined) {
      instance[key] = service;
      if (!isMadeByInjector(wrapper)) this.provided.push(instance);
    } else if (current !== service && !isMadeByInjector(wrapper)) {
      throw new Error(INSTANCE_SHARED_BETWEEN_APPS(instance.constructor.name, this.name));
    }
  }

  private findService(name: string | null, instance: object): unknown {
    try {
      return this.moduleRef.get(getConsulLeaderToken(name ?? undefined), { strict: false });
    } catch {
      throw new Error(MISSING_ELECTION(instance.constructor.name, name));
    }
  }

  private leaderOnlyMethods(instance: object): string[] {
    const prototype = Object.getPrototypeOf(instance) as Record<string, unknown>;
    return this.metadataScanner
      .getAllMethodNames(prototype)
      .filter((method) => {
        const fn = prototype[method];
        return (
          typeof fn === 'function' && Reflect.getOwnMetadata(LEADER_ONLY_METADATA, fn) === this.name
        );
      })
      .map((method) => `${instance.constructor.name}.${method}`);
  }
}

/** A class provider: Nest's injector made it and set its injected properties. */
function isMadeByInjector(wrapper: InstanceWrapper): boolean {
  return wrapper.metatype !== null && wrapper.metatype !== undefined && !wrapper.inject;
}
