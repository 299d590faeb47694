import { ElectionOptionsError, type ElectionOptions } from '../../../lib/election';
import { resolveElectionOptions } from '../../../lib/election/options/resolve-election-options';

const valid: ElectionOptions = { key: 'service/billing/leader' };

function failure(
  options: Partial<ElectionOptions> & Record<string, unknown>,
  env: NodeJS.ProcessEnv = {},
): ElectionOptionsError {
  try {
    resolveElectionOptions({ ...valid, ...options } as ElectionOptions, env);
  } catch (error) {
    if (error instanceof ElectionOptionsError) return error;
    throw error;
  }
  throw new Error('expected the options to be rejected');
}

describe('election options', () => {
  it('gives defaults that satisfy every safety rule', () => {
    const resolved = resolveElectionOptions(valid, {});
    expect(resolved).toMatchObject({
      leaseDurationMs: 2_500,
      renewIntervalMs: 1_250,
      requestTimeoutMs: 500,
      lockDelayMs: 2_500,
      sessionTtlMs: 30_000,
      healthCheck: {
        ttlMs: 2_000,
        standbyTtlMs: 30_000,
        deregisterCriticalServiceAfterMs: 60_000,
        serviceName: expect.stringMatching(/^leader-service-billing-leader-[0-9a-f]{8}$/),
      },
      consul: { host: '127.0.0.1', port: 8500, secure: false },
    });
    expect(resolved.requestTimeoutMs).toBeLessThan(resolved.leaseDurationMs);
    expect(resolved.instanceId).toMatch(/^.+-\d+-[0-9a-f]{6}$/);
  });

  it('accepts milliseconds and Consul duration strings alike', () => {
    expect(resolveElectionOptions({ ...valid, watchWait: '1m30s' }, {}).watchWaitMs).toBe(90_000);
    expect(
      resolveElectionOptions({ ...valid, leaseDuration: '3s', lockDelay: 3_000 }, {})
        .leaseDurationMs,
    ).toBe(3_000);
    expect(
      resolveElectionOptions({ ...valid, leaseDuration: 800, lockDelay: '1.5s' }, {}).lockDelayMs,
    ).toBe(1_500);
  });

  it('requires a key', () => {
    const error = failure({ key: undefined });
    expect(error.field).toBe('key');
    expect(error.message).toMatch(/"key" is required/);
  });

  it.each([
    ['/leading/slash', 'no leading "/"'],
    ['has space', 'only letters, digits and , - _ . /'],
    ['q?x', 'only letters, digits and , - _ . /'],
    ['svc:leader', 'only letters, digits and , - _ . /'],
    ['caf\u00e9/leader', 'only letters, digits and , - _ . /'],
    ['a/../b', 'no ".." before a "/"'],
    ['..hidden/leader', 'no ".." before a "/" or at the start'],
    ['leader/a..', 'no ".." before a "/" or at the start or end'],
    ['a//b', 'no empty or "." segment'],
    ['a/./b', 'no empty or "." segment'],
    ['service/leader.json', 'no file extension that web caches keep'],
    ['service/leader.JS', 'no file extension that web caches keep'],
  ])(
    'rejects the key %j, naming the rule it breaks as Consul 1.22 would refuse it',
    (key, rule) => {
      const error = failure({ key });
      expect(error.field).toBe('key');
      expect(error.message).toContain(JSON.stringify(key));
      expect(error.message).toMatch(/accepted: a Consul KV path/);
      expect(error.message).toContain(`it breaks the rule: ${rule}`);
    },
  );

  it.each([
    ['service/billing/leader'],
    ['svc/a,b-c_d.e/leader'],
    ['a..b/c'],
    ['folder/'],
    ['v1.2/leader'],
  ])('accepts the key %j, which Consul accepts', (key) => {
    expect(resolveElectionOptions({ key }, {}).key).toBe(key);
  });

  it.each([
    ['leaseDuration', '100ms', 'from 200ms to 60s'],
    ['leaseDuration', 'soon', 'from 200ms to 60s'],
    ['sessionTtl', '500ms', 'from 10s to 86400s'],
    ['watchWait', '11m', 'from 1s to 600s'],
    ['lockDelay', '61s', 'from 0ms to 60s'],
    ['successionStep', '5ms', 'from 10ms to 10s'],
    ['drainTimeout', -1, 'from 0ms to 600s'],
  ])('rejects %s = %j and names the accepted range', (field, value, range) => {
    const error = failure({ [field]: value, ...(field === 'lockDelay' ? {} : {}) });
    expect(error.field).toBe(field);
    expect(error.message).toContain(`"${field}" is ${JSON.stringify(value)}`);
    expect(error.message).toContain(range);
  });

  it('rejects a health check TTL out of range, naming the nested field', () => {
    const error = failure({ healthCheck: { ttl: '500ms' } });
    expect(error.field).toBe('healthCheck.ttl');
    expect(error.message).toContain('from 1s to 600s');
  });

  it('rejects a standby TTL shorter than the leading TTL', () => {
    expect(failure({ healthCheck: { ttl: '5s', standbyTtl: '2s' } }).field).toBe(
      'healthCheck.standbyTtl',
    );
  });

  it('enforces requestTimeout < leaseDuration', () => {
    const error = failure({ leaseDuration: '1s', lockDelay: '1s', requestTimeout: '1s' });
    expect(error.field).toBe('requestTimeout');
    expect(error.message).toContain('rule requestTimeout < leaseDuration');
  });

  it('enforces renewInterval + requestTimeout < leaseDuration', () => {
    const error = failure({
      leaseDuration: '2s',
      lockDelay: '2s',
      renewInterval: '1500ms',
      requestTimeout: '600ms',
    });
    expect(error.field).toBe('renewInterval');
    expect(error.message).toContain('renewInterval + requestTimeout < leaseDuration');
    expect(error.message).toContain('1.5s');
  });

  it('enforces lockDelay >= leaseDuration', () => {
    const error = failure({ leaseDuration: '3s', lockDelay: '1s' });
    expect(error.field).toBe('lockDelay');
    expect(error.message).toContain('lockDelay >= leaseDuration');
  });

  it('enforces that the check is updated well within its TTL', () => {
    const error = failure({
      leaseDuration: '3s',
      lockDelay: '3s',
      requestTimeout: '900ms',
      healthCheck: { ttl: '1s' },
    });
    expect(error.field).toBe('healthCheck.ttl');
  });

  it('rejects metadata that is not a plain object', () => {
    expect(failure({ metadata: ['x'] as unknown as Record<string, unknown> }).field).toBe(
      'metadata',
    );
  });

  it('rejects a port out of range', () => {
    const error = failure({ consul: { port: 70_000 } });
    expect(error.field).toBe('consul.port');
    expect(error.message).toContain('from 1 to 65535');
  });

  it('follows CONSUL_HTTP_ADDR and CONSUL_HTTP_TOKEN when the options leave Consul unset', () => {
    const resolved = resolveElectionOptions(valid, {
      CONSUL_HTTP_ADDR: 'https://consul.internal:8501',
      CONSUL_HTTP_TOKEN: 't0k',
    });
    expect(resolved.consul).toMatchObject({
      host: 'consul.internal',
      port: 8501,
      secure: true,
      token: 't0k',
    });
    expect(
      resolveElectionOptions(valid, { CONSUL_HTTP_ADDR: '10.0.0.5:9500' }).consul,
    ).toMatchObject({ host: '10.0.0.5', port: 9500, secure: false });
  });

  it('lets explicit options win over the environment', () => {
    const resolved = resolveElectionOptions(
      { ...valid, consul: { host: 'h', port: 1234, token: 'mine' } },
      { CONSUL_HTTP_ADDR: 'x:1', CONSUL_HTTP_TOKEN: 'env' },
    );
    expect(resolved.consul).toMatchObject({ host: 'h', port: 1234, token: 'mine' });
  });

  it('derives a valid service name from a long key, distinct per key', () => {
    const long = 'service/billing-reconciliation/production/eu-west-1/leader';
    const name = resolveElectionOptions({ key: long }, {}).healthCheck!.serviceName;
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(/^leader-service-billing-reconciliation-.+-[0-9a-f]{8}$/);
    expect(resolveElectionOptions({ key: `${long}2` }, {}).healthCheck!.serviceName).not.toBe(name);
  });

  it('gives keys that differ only in punctuation different service names', () => {
    const names = ['jobs/job.a', 'jobs/job-a', 'jobs-job-a', 'jobs/job_a'].map(
      (key) => resolveElectionOptions({ key }, {}).healthCheck!.serviceName,
    );
    expect(new Set(names).size).toBe(names.length);
  });

  it('allows turning the health check off', () => {
    expect(resolveElectionOptions({ ...valid, healthCheck: false }, {}).healthCheck).toBeNull();
  });

  describe('unknown option keys', () => {
    it.each([
      ['leaseduration', 'leaseDuration', 'leaseduration'],
      ['leaseDurration', 'leaseDuration', 'leaseDurration'],
      ['sessionTTL', 'sessionTtl', 'sessionTTL'],
      ['lockdelay', 'lockDelay', 'lockdelay'],
    ])('refuses %j, naming the closest known option %j', (typo, known, field) => {
      const error = failure({ [typo]: '1s' });
      expect(error.field).toBe(field);
      expect(error.message).toContain(`"${typo}" is not an option`);
      expect(error.message).toContain(`did you mean "${known}"?`);
    });

    it.each([
      ['consul', { hots: 'consul.internal' }, 'consul.hots', 'host'],
      ['retry', { maxdelay: '5s' }, 'retry.maxdelay', 'maxDelay'],
      ['healthCheck', { tll: '2s' }, 'healthCheck.tll', 'ttl'],
    ])(
      'refuses an unknown key inside %s, naming its path and the closest key',
      (option, value, field, known) => {
        const error = failure({ [option]: value });
        expect(error.field).toBe(field);
        expect(error.message).toContain(`did you mean "${known}"?`);
      },
    );

    it('refuses a key that resembles no option, listing the options', () => {
      const error = failure({ zzzzzz: true });
      expect(error.field).toBe('zzzzzz');
      expect(error.message).toContain('"zzzzzz" is not an option');
      expect(error.message).toContain('leaseDuration');
    });

    it("leaves the keys of metadata alone: they are the user's own", () => {
      expect(
        resolveElectionOptions({ ...valid, metadata: { leaseduration: 1 } }, {}).metadata,
      ).toEqual({
        leaseduration: 1,
      });
    });
  });

  describe("sessionTtl against Consul's range", () => {
    it("refuses 5s at construction, naming Consul's minimum and session_ttl_min", () => {
      const error = failure({ sessionTtl: '5s' });
      expect(error.field).toBe('sessionTtl');
      expect(error.message).toContain('from 10s to 86400s');
      expect(error.message).toContain('session_ttl_min');
    });

    it('accepts a shorter TTL when sessionTtlMin says the servers allow it', () => {
      const resolved = resolveElectionOptions(
        { ...valid, sessionTtl: '2s', sessionTtlMin: '1s' },
        {},
      );
      expect(resolved.sessionTtlMs).toBe(2_000);
    });

    it('still refuses a TTL under the sessionTtlMin given', () => {
      const error = failure({ sessionTtl: '2s', sessionTtlMin: '3s' });
      expect(error.field).toBe('sessionTtl');
      expect(error.message).toContain('from 3s to 86400s');
    });
  });

  it('refuses a failFast that is not a boolean', () => {
    const error = failure({ failFast: 'yes' as unknown as boolean });
    expect(error.field).toBe('failFast');
    expect(error.message).toContain('accepted: true or false');
  });
});
