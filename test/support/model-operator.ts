// What an operator (or another client) does to the election's key behind its back, on the Consul
// model: each action is a model operation that the conformance spec (test/integration/conformance)
// compares with a real agent, the same actions consul-operator.ts takes over HTTP.
import type { KeyEntry } from '../../lib/election';
import type { ConsulModel } from './consul-model';

/** The key that a client outside the election writes to move Consul's KV index. */
const OTHER_KEY = 'spec/other';

export class ModelOperator {
  private otherWrites = 0;

  constructor(
    readonly model: ConsulModel,
    readonly key: string,
  ) {}

  /** The key as the election's port reads it (value decoded), or null when it is absent. */
  get entry(): KeyEntry | null {
    const raw = this.model.entryOf(this.key);
    if (!raw) return null;
    return {
      value: raw.Value === null ? null : Buffer.from(raw.Value, 'base64').toString(),
      session: raw.Session ?? null,
      lockIndex: raw.LockIndex,
      modifyIndex: raw.ModifyIndex,
    };
  }

  /** The ids of the sessions Consul knows. */
  sessionIds(): string[] {
    return this.model.sessionIds();
  }

  /** `DELETE /v1/kv/<key>`: no lock-delay for an absent key; LockIndex restarts with the next key. */
  deleteKey(): void {
    this.model.kvDelete(this.key);
  }

  /** A plain `PUT` of the key: the value changes, the session stays, LockIndex goes to 0. */
  putValue(value: string): void {
    this.model.kvPut(this.key, value);
  }

  /** A lock by the holder's own session (`PUT ?acquire=<holder>`): the value changes, LockIndex stays. */
  relockValue(value: string): void {
    const session = this.entry?.session;
    if (!session) throw new Error(`relockValue: nobody holds ${this.key}`);
    this.lock(session, value);
  }

  /** Another client writes another key: the KV index moves, and a blocking read of an absent key wakes. */
  writeOtherKey(): void {
    this.otherWrites += 1;
    this.model.kvPut(OTHER_KEY, String(this.otherWrites));
  }

  /** Another client, with a session of its own (no lock-delay), takes the free key; returns its session. */
  seize(): string {
    const created = this.model.sessionCreate({
      Name: 'intruder',
      TTL: '10s',
      LockDelay: '0s',
      Checks: [],
    });
    const session = (created.body as { ID: string }).ID;
    this.lock(
      session,
      '{"instanceId":"intruder","metadata":{},"since":"2026-01-01T00:00:00.000Z"}',
    );
    return session;
  }

  /** `PUT /v1/session/destroy/<id>`: the session is gone, its key freed with its lock-delay. */
  invalidate(sessionId: string): void {
    this.model.sessionDestroy(sessionId);
  }

  private lock(session: string, value: string): void {
    const answer = this.model.txn([
      {
        KV: {
          Verb: 'lock',
          Key: this.key,
          Value: Buffer.from(value).toString('base64'),
          Session: session,
        },
      },
    ]);
    if (answer.status !== 200)
      throw new Error(`lock of ${this.key} refused: ${JSON.stringify(answer.body)}`);
  }
}
