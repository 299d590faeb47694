import { Injectable, Logger, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { CONSUL_LEADER_LOGGER_CONTEXT, LEADER_ONLY_METADATA } from '../consul-leader.constants';
import { GUARD_WITHOUT_SERVICE } from '../consul-leader.messages';
import { getConsulLeaderToken } from '../consul-leader.tokens';
import type { ConsulLeader } from '../interfaces/consul-leader.interface';

/**
 * Lets a request/response handler (HTTP route, `@MessagePattern`) run only on the leader, so that a
 * follower answers with Nest's "Forbidden" (HTTP 403, RPC `Forbidden resource`) instead of an empty
 * reply. It follows the election named by the handler's `@LeaderOnly(name)`, else the default one.
 * Combine both on a handler — `@UseGuards(LeaderOnlyGuard) @LeaderOnly()` — to also count the
 * call as in-flight leader work at shutdown. Without an election in the app it denies (fail closed).
 */
@Injectable()
export class LeaderOnlyGuard implements CanActivate {
  private readonly services = new Map<string | null, ConsulLeader | null>();

  constructor(private readonly moduleRef: ModuleRef) {}

  canActivate(context: ExecutionContext): boolean {
    const name =
      (Reflect.getOwnMetadata(LEADER_ONLY_METADATA, context.getHandler()) as
        string | null | undefined) ?? null;
    const service = this.service(name);
    return service !== null && service.isLeader();
  }

  private service(name: string | null): ConsulLeader | null {
    if (!this.services.has(name)) {
      let service: ConsulLeader | null = null;
      try {
        service = this.moduleRef.get<ConsulLeader>(getConsulLeaderToken(name ?? undefined), {
          strict: false,
        });
      } catch {
        Logger.warn(GUARD_WITHOUT_SERVICE(name), CONSUL_LEADER_LOGGER_CONTEXT);
      }
      this.services.set(name, service);
    }
    return this.services.get(name) ?? null;
  }
}
