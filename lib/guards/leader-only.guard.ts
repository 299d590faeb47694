import {
  HttpException,
  HttpStatus,
  Injectable,
  Logger,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import {
  CONSUL_LEADER_LOGGER_CONTEXT,
  FOLLOWER_ANSWER,
  LEADER_ONLY_METADATA,
} from '../consul-leader.constants';
import { GUARD_WITHOUT_SERVICE, NOT_LEADER_ANSWER } from '../consul-leader.messages';
import { getConsulLeaderToken } from '../consul-leader.tokens';
import type { ConsulLeader } from '../interfaces/consul-leader.interface';
import { followerAnswerOf, type FollowerAnswer } from './follower-answer';

/** The response header that names the leader's `instanceId` in a follower's answer. */
export const LEADER_HEADER = 'X-Consul-Leader';

/** The `code` of the RPC error a follower answers a `@MessagePattern` call with. */
export const NOT_LEADER_CODE = 'NOT_LEADER';

type ServiceWithAnswer = ConsulLeader & {
  [FOLLOWER_ANSWER]?: (requestUrl: string | null) => FollowerAnswer;
};

/**
 * Lets a request/response handler (HTTP route, `@MessagePattern`) run only on the leader. A
 * follower tells the caller where leadership is instead of an empty reply:
 * - HTTP: `503 Service Unavailable` with `Retry-After` (seconds until a leader is expected, at
 *   least 1) and `X-Consul-Leader` (the leader's instance id, when one is known); or, when the
 *   module's `http.redirectTo` returns a URL for the current leader, `307 Temporary Redirect` there.
 * - RPC: an `RpcException` whose error is `{ status: 'error', code: 'NOT_LEADER', message, leader,
 *   retryAfterSeconds }`, which the client's observable errors with.
 * It follows the election named by the handler's `@LeaderOnly(name)`, else the default one.
 * Combine both on a handler — `@UseGuards(LeaderOnlyGuard) @LeaderOnly()` — to also count the
 * call as in-flight leader work at shutdown. Without an election in the app it denies (fail closed).
 */
@Injectable()
export class LeaderOnlyGuard implements CanActivate {
  private readonly services = new Map<string | null, ServiceWithAnswer | null>();

  constructor(private readonly moduleRef: ModuleRef) {}

  canActivate(context: ExecutionContext): boolean {
    const name =
      (Reflect.getOwnMetadata(LEADER_ONLY_METADATA, context.getHandler()) as
        string | null | undefined) ?? null;
    const service = this.service(name);
    if (service === null) return false;
    if (service.isLeader()) return true;
    const type = context.getType<string>();
    const requestUrl = type === 'http' ? requestUrlOf(context) : null;
    // A hand-written stand-in may have nothing but isLeader(): then no leader is named.
    const answer =
      service[FOLLOWER_ANSWER]?.(requestUrl) ??
      (service.state
        ? followerAnswerOf(service.state, null, undefined, null)
        : { leader: null, retryAfterSeconds: 1, redirectTo: null });
    if (type === 'http') throw httpAnswer(context, answer);
    if (type === 'rpc') throw rpcAnswer(answer);
    return false;
  }

  private service(name: string | null): ServiceWithAnswer | null {
    if (!this.services.has(name)) {
      let service: ServiceWithAnswer | null = null;
      try {
        service = this.moduleRef.get<ServiceWithAnswer>(getConsulLeaderToken(name ?? undefined), {
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

/** Headers go on the response now; Nest's exception filter then writes the status and body. */
function httpAnswer(context: ExecutionContext, answer: FollowerAnswer): HttpException {
  const response = context.switchToHttp().getResponse<HeaderTarget>();
  const message = NOT_LEADER_ANSWER(answer.leader?.instanceId ?? null);
  if (answer.leader) setHeader(response, LEADER_HEADER, answer.leader.instanceId);
  if (answer.redirectTo) {
    setHeader(response, 'Location', answer.redirectTo);
    return new HttpException(
      { statusCode: HttpStatus.TEMPORARY_REDIRECT, message, location: answer.redirectTo },
      HttpStatus.TEMPORARY_REDIRECT,
    );
  }
  setHeader(response, 'Retry-After', String(answer.retryAfterSeconds));
  return new HttpException(
    {
      statusCode: HttpStatus.SERVICE_UNAVAILABLE,
      error: 'Service Unavailable',
      message,
      leader: answer.leader?.instanceId ?? null,
      retryAfterSeconds: answer.retryAfterSeconds,
    },
    HttpStatus.SERVICE_UNAVAILABLE,
  );
}

/**
 * `@nestjs/microservices` is loaded only here: an app that gets an RPC context has it installed,
 * and an HTTP-only app never needs it.
 */
function rpcAnswer(answer: FollowerAnswer): Error {
  type Microservices = typeof import('@nestjs/microservices');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { RpcException } = require('@nestjs/microservices') as Microservices;
  return new RpcException({
    status: 'error',
    code: NOT_LEADER_CODE,
    message: NOT_LEADER_ANSWER(answer.leader?.instanceId ?? null),
    leader: answer.leader?.instanceId ?? null,
    retryAfterSeconds: answer.retryAfterSeconds,
  });
}

/** Path and query of an HTTP request (Express keeps the mounted path in `originalUrl`). */
function requestUrlOf(context: ExecutionContext): string | null {
  const request = context.switchToHttp().getRequest<{ originalUrl?: string; url?: string }>();
  return request.originalUrl ?? request.url ?? null;
}

/** Express (`setHeader`) and Fastify (`header`) responses. */
type HeaderTarget = {
  setHeader?: (name: string, value: string) => unknown;
  header?: (name: string, value: string) => unknown;
};

function setHeader(response: HeaderTarget, name: string, value: string): void {
  if (typeof response.setHeader === 'function') response.setHeader(name, value);
  else response.header?.(name, value);
}
