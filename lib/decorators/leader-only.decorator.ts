import { Inject, Logger } from '@nestjs/common';
import {
  CONSUL_LEADER_LOGGER_CONTEXT,
  LEADER_ONLY_ELECTIONS_METADATA,
  LEADER_ONLY_METADATA,
  RUN_AS_LEADER,
} from '../consul-leader.constants';
import { NO_SERVICE_REACHABLE, NOT_A_METHOD, STATIC_METHOD } from '../consul-leader.messages';
import {
  getConsulLeaderToken,
  leaderOnlyServiceKey,
  normalizeElectionName,
} from '../consul-leader.tokens';
import type { ConsulLeader, LeaderOnlyRunner } from '../interfaces/consul-leader.interface';

type AnyMethod = (this: unknown, ...args: unknown[]) => unknown;

/**
 * Runs the method only while this instance leads election `name` (default: the unnamed election);
 * otherwise the call is skipped: it returns `undefined` and logs at debug (once per method until the
 * role changes). The caller gets exactly what the method returned: a promise that settles and fails
 * as the method's, a lazy thenable (a query builder) that runs only when the caller awaits it, an
 * Observable. Until that work is over (settled, completed) the call counts as in-flight leader work,
 * which `resign()` and shutdown wait for before they release the key. Inside the method (also after
 * an `await`) `service.signal` / `service.fencingToken` are those of the term the call started in:
 * stop on the signal, fence writes with the token; nothing extra is passed to the method.
 *
 * Works above or below `@Cron`, `@Interval`, `@Timeout`, `@OnEvent`, `@MessagePattern`,
 * `@EventPattern`, route decorators and any decorator that keeps metadata on the method: the
 * method is replaced at decoration time by a wrapper that carries all of the method's metadata.
 * A `@Timeout` that fires before the first election result is skipped for good.
 *
 * The wrapper reaches its own app's service through a property that each app's injector sets on
 * the instances it creates (and the explorer sets on `useFactory`/`useValue` instances), so several
 * apps in one process each follow their own leadership. An app that lacks the election fails at
 * bootstrap; an instance that no app set up (made with `new`, or whose app has closed) is never run
 * (fail closed, warned once). Transient and request-scoped providers work, class- or factory-made.
 *
 * For request/response handlers a skipped call replies with nothing: add `LeaderOnlyGuard`.
 */
export function LeaderOnly(name?: string): MethodDecorator {
  const electionName = normalizeElectionName(name);
  const serviceKey = leaderOnlyServiceKey(electionName);
  const token = getConsulLeaderToken(name);

  return (target, propertyKey, descriptor) => {
    if (typeof target === 'function')
      throw new Error(STATIC_METHOD(target.name, String(propertyKey)));
    const owner = target.constructor as abstract new (...args: never[]) => unknown;
    const original = descriptor.value as unknown;
    if (typeof original !== 'function')
      throw new Error(NOT_A_METHOD(owner.name, String(propertyKey)));
    const method = original as AnyMethod;
    const label = `${owner.name}.${String(propertyKey)}`;
    let warnedNoService = false;

    const wrapper = function leaderOnly(this: unknown, ...args: unknown[]): unknown {
      const host = (this as Record<symbol, unknown> | null | undefined)?.[serviceKey] as
        (Partial<LeaderOnlyRunner> & Pick<ConsulLeader, 'isLeader'>) | undefined;
      if (!host) {
        if (!warnedNoService) {
          warnedNoService = true;
          Logger.warn(NO_SERVICE_REACHABLE(label, electionName), CONSUL_LEADER_LOGGER_CONTEXT);
        }
        return undefined;
      }
      const call = () => method.apply(this, args);
      if (typeof host[RUN_AS_LEADER] === 'function') return host[RUN_AS_LEADER](label, call);
      // A hand-written stand-in (overrideProvider(...).useValue({ isLeader })) has only isLeader().
      return host.isLeader() ? call() : undefined;
    };
    Object.defineProperty(wrapper, 'name', { value: method.name, configurable: true });
    Object.defineProperty(wrapper, 'length', { value: method.length, configurable: true });
    // Decorators apply bottom-up: those below this one have put their metadata on `method`; those
    // above will put theirs on `wrapper`. Carry the former over so that no handler is lost.
    copyOwnMetadata(method, wrapper);
    Reflect.defineMetadata(LEADER_ONLY_METADATA, electionName, wrapper);
    descriptor.value = wrapper as typeof descriptor.value;

    requireService(target, owner, electionName, serviceKey, token);
    return descriptor;
  };
}

/** Every own metadata entry of `from` that `to` does not already carry. */
export function copyOwnMetadata(from: object, to: object): void {
  for (const key of Reflect.getOwnMetadataKeys(from)) {
    if (!Reflect.hasOwnMetadata(key, to))
      Reflect.defineMetadata(key, Reflect.getOwnMetadata(key, from), to);
  }
}

/** The election names whose `@LeaderOnly` methods a class (or its bases) has. */
export function getLeaderOnlyElections(type: unknown): ReadonlyArray<string | null> {
  if (typeof type !== 'function') return [];
  return (
    (Reflect.getMetadata(LEADER_ONLY_ELECTIONS_METADATA, type) as
      Array<string | null> | undefined) ?? []
  );
}

/**
 * Marks the class as following election `name` and asks Nest to property-inject that election's
 * service under `serviceKey`, once per class and name. Nest fails the bootstrap of an app that has
 * no such provider, printing `serviceKey`'s description, which says which module to import.
 */
function requireService(
  prototype: object,
  owner: abstract new (...args: never[]) => unknown,
  name: string | null,
  serviceKey: symbol,
  token: ReturnType<typeof getConsulLeaderToken>,
): void {
  const own =
    (Reflect.getOwnMetadata(LEADER_ONLY_ELECTIONS_METADATA, owner) as
      Array<string | null> | undefined) ?? [];
  if (own.includes(name)) return;
  const inherited = getLeaderOnlyElections(owner);
  Reflect.defineMetadata(
    LEADER_ONLY_ELECTIONS_METADATA,
    [...new Set([...inherited, ...own, name])],
    owner,
  );
  if (inherited.includes(name)) return;
  Inject(token)(prototype, serviceKey);
  // Nest assigns injected properties with `instance[key] = value`; this setter keeps the service
  // out of what users see of their instances (console.log, spread, JSON) by storing it hidden.
  Object.defineProperty(prototype, serviceKey, {
    configurable: true,
    get: () => undefined,
    set(this: object, service: unknown) {
      Object.defineProperty(this, serviceKey, {
        value: service,
        writable: true,
        configurable: true,
        enumerable: false,
      });
    },
  });
}
