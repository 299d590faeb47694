import type { NewSession } from './consul-port';
import { toConsulDuration } from '../time/duration';
import { expect, send, type ConsulClient } from './node-consul-transport';

// The session operations of NodeConsulPort.

export async function createSession(
  client: ConsulClient,
  session: NewSession,
  timeoutMs: number,
): Promise<string> {
  const answer = await send('session create', timeoutMs, undefined, (options) =>
    client.session.create({
      name: session.name,
      ttl: toConsulDuration(session.ttlMs),
      lockdelay: toConsulDuration(session.lockDelayMs),
      checks: ['serfHealth', ...session.checks],
      behavior: 'release',
      ...options,
    } as never),
  );
  return expect(
    answer,
    'session create',
    200,
    (body): body is { ID: string } =>
      typeof (body as { ID?: unknown } | undefined)?.ID === 'string',
  ).ID;
}

export async function renewSession(
  client: ConsulClient,
  sessionId: string,
  timeoutMs: number,
): Promise<'renewed' | 'not-found'> {
  const answer = await send('session renew', timeoutMs, undefined, (options) =>
    client.session.renew({ id: sessionId, ...options } as never),
  );
  if (answer.status === 404) return 'not-found';
  expect(answer, 'session renew', 200);
  return 'renewed';
}

export async function destroySession(
  client: ConsulClient,
  sessionId: string,
  timeoutMs: number,
): Promise<void> {
  const answer = await send('session destroy', timeoutMs, undefined, (options) =>
    client.session.destroy({ id: sessionId, ...options } as never),
  );
  expect(answer, 'session destroy', 200);
}
