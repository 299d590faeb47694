import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { brokenConsulKeyRule } from '../consul/consul-key';
import type { ElectionOptions } from './election-options';
import { ElectionOptionsError } from './election-options.error';
import { ElectionMessages } from '../election.messages';

/** Consul KV values are limited to 512 KiB; metadata shares the key with a small envelope. */
const MAX_METADATA_BYTES = 64 * 1024;

export function resolveKey(key: unknown): string {
  const accepted =
    'a Consul KV path of letters, digits and , - _ . / that does not start with "/", e.g. "service/billing/leader"';
  if (key === undefined || key === null || key === '')
    throw new ElectionOptionsError('key', ElectionMessages.optionRequired('key', accepted));
  if (typeof key !== 'string')
    throw new ElectionOptionsError('key', ElectionMessages.optionOutOfRange('key', key, accepted));
  const rule = brokenConsulKeyRule(key);
  if (rule !== null) {
    throw new ElectionOptionsError(
      'key',
      ElectionMessages.optionOutOfRange('key', key, `${accepted}; it breaks the rule: ${rule}`),
    );
  }
  return key;
}

export function resolveInstanceId(instanceId: unknown): string {
  if (instanceId === undefined)
    return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  if (typeof instanceId !== 'string' || !/^[A-Za-z0-9._:@-]{1,128}$/.test(instanceId)) {
    throw new ElectionOptionsError(
      'instanceId',
      ElectionMessages.optionOutOfRange(
        'instanceId',
        instanceId,
        '1-128 characters from letters, digits and . _ : @ -',
      ),
    );
  }
  return instanceId;
}

export function resolveMetadata(metadata: unknown): Record<string, unknown> {
  if (metadata === undefined) return {};
  const accepted = `a plain JSON-serialisable object of at most ${MAX_METADATA_BYTES / 1024} KiB`;
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
    throw new ElectionOptionsError(
      'metadata',
      ElectionMessages.optionOutOfRange('metadata', metadata, accepted),
    );
  }
  let json: string;
  try {
    json = JSON.stringify(metadata);
  } catch {
    throw new ElectionOptionsError(
      'metadata',
      ElectionMessages.optionOutOfRange('metadata', '[not serialisable]', accepted),
    );
  }
  if (Buffer.byteLength(json) > MAX_METADATA_BYTES) {
    throw new ElectionOptionsError(
      'metadata',
      ElectionMessages.optionOutOfRange('metadata', `${Buffer.byteLength(json)} bytes`, accepted),
    );
  }
  return JSON.parse(json) as Record<string, unknown>;
}

/** A logger missing a method would fail later, inside the loops, as unhandled rejections. */
export function checkLogger(logger: ElectionOptions['logger']): void {
  if (logger === undefined) return;
  const complete =
    logger !== null &&
    typeof logger === 'object' &&
    ['log', 'warn', 'error'].every(
      (method) => typeof (logger as unknown as Record<string, unknown>)[method] === 'function',
    ) &&
    (logger.debug === undefined || typeof logger.debug === 'function');
  if (!complete) {
    throw new ElectionOptionsError(
      'logger',
      ElectionMessages.optionOutOfRange(
        'logger',
        logger,
        "an object with log, warn and error methods (and optionally debug), such as Nest's Logger or console",
      ),
    );
  }
}
