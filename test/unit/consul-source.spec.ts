import * as http from 'node:http';
import * as net from 'node:net';
import { resolveConsulSource, type ConsulProbe } from '../../harness';
import { ensureConsulSource, pingDockerEngine } from '../../harness/consul-source';
import { debianArchiveUri } from '../../harness/debian-consul';

/** A machine with nothing on it; each test adds what it needs. */
function bareMachine(overrides: Partial<ConsulProbe> = {}): Partial<ConsulProbe> {
  return {
    env: {},
    findOnPath: () => undefined,
    isExecutable: () => false,
    dockerEngine: async () => undefined,
    debianWithApt: () => false,
    debianBinary: () => '/project/.consul/debian/pkg/usr/bin/consul',
    ...overrides,
  };
}

describe('where the tests find Consul', () => {
  it('fails with one message listing the four ways and the two variables to set when nothing is available', async () => {
    const failure = resolveConsulSource(bareMachine());
    await expect(failure).rejects.toThrow(/CONSUL_HTTP_ADDR=127\.0\.0\.1:8500/);
    const message = await failure.catch((error: Error) => error.message);
    expect(message).toMatch(/1\. CONSUL_HTTP_ADDR/);
    expect(message).toMatch(/2\. .*CONSUL_BIN=\/path\/to\/consul/);
    expect(message).toMatch(/3\. Docker/);
    expect(message).toMatch(/4\. Debian/);
  });

  it('uses CONSUL_HTTP_ADDR before a binary on PATH, accepting host:port', async () => {
    const source = await resolveConsulSource(
      bareMachine({
        env: { CONSUL_HTTP_ADDR: '127.0.0.1:8500' },
        findOnPath: () => '/usr/bin/consul',
        isExecutable: () => true,
      }),
    );
    expect(source).toMatchObject({ kind: 'external', address: 'http://127.0.0.1:8500' });
  });

  it('accepts CONSUL_HTTP_ADDR with a scheme and drops a trailing slash', async () => {
    const source = await resolveConsulSource(
      bareMachine({ env: { CONSUL_HTTP_ADDR: 'https://consul.test:8501/' } }),
    );
    expect(source.address).toBe('https://consul.test:8501');
  });

  it('ignores CONSUL_HTTP_ADDR when a test needs a local agent (forceLocal)', async () => {
    const source = await resolveConsulSource(
      bareMachine({
        env: { CONSUL_HTTP_ADDR: '127.0.0.1:8500' },
        findOnPath: () => '/usr/bin/consul',
      }),
      { forceLocal: true },
    );
    expect(source).toMatchObject({ kind: 'binary', binary: '/usr/bin/consul' });
  });

  it('says CONSUL_HTTP_ADDR is not enough when a local agent is needed and none can be had', async () => {
    await expect(
      resolveConsulSource(bareMachine({ env: { CONSUL_HTTP_ADDR: '127.0.0.1:8500' } }), {
        forceLocal: true,
      }),
    ).rejects.toThrow(/starts its own agent, so CONSUL_HTTP_ADDR=127\.0\.0\.1:8500 is not enough/);
  });

  it('prefers CONSUL_BIN over consul on PATH', async () => {
    const source = await resolveConsulSource(
      bareMachine({
        env: { CONSUL_BIN: '/opt/consul/consul' },
        findOnPath: () => '/usr/bin/consul',
        isExecutable: (file) => file === '/opt/consul/consul',
      }),
    );
    expect(source).toMatchObject({ kind: 'binary', binary: '/opt/consul/consul' });
  });

  it('rejects a CONSUL_BIN that is not executable instead of silently looking further', async () => {
    await expect(
      resolveConsulSource(
        bareMachine({ env: { CONSUL_BIN: '/nope/consul' }, debianWithApt: () => true }),
      ),
    ).rejects.toThrow(/CONSUL_BIN=\/nope\/consul is not an executable file/);
  });

  it('uses Docker before Debian when an engine answers', async () => {
    const source = await resolveConsulSource(
      bareMachine({
        dockerEngine: async () => 'unix:///var/run/docker.sock',
        debianWithApt: () => true,
      }),
    );
    expect(source.kind).toBe('docker');
  });

  it('says why when Docker answers but testcontainers cannot load, instead of a stack trace', async () => {
    await expect(
      ensureConsulSource(
        bareMachine({
          dockerEngine: async () => 'unix:///var/run/docker.sock',
          testcontainersProblem: async () => 'testcontainers cannot be loaded on Node 20.0.0 (x)',
        }),
      ),
    ).rejects.toThrow(/Docker engine at unix:.*was found, but testcontainers cannot be loaded/);
  });

  it('falls back to the Debian package, cached in .consul/debian', async () => {
    const source = await resolveConsulSource(bareMachine({ debianWithApt: () => true }));
    expect(source).toMatchObject({
      kind: 'debian',
      binary: '/project/.consul/debian/pkg/usr/bin/consul',
    });
    expect(source.detail).toMatch(/to be fetched/);
  });
});

describe('the Debian archive the harness fetches Consul from', () => {
  const files = (map: Record<string, string>) => (file: string) => map[file];

  it('is the first URIs: of the deb822 sources file', () => {
    const read = files({
      '/etc/apt/sources.list.d/debian.sources':
        'Types: deb\nURIs: http://archive.example/debian\nSuites: bookworm\n\nTypes: deb\nURIs: http://other.example/x\n',
    });
    expect(debianArchiveUri(read)).toBe('http://archive.example/debian');
  });

  it('is the first deb line of sources.list when there is no deb822 file, options skipped', () => {
    const read = files({
      '/etc/apt/sources.list':
        '# comment\ndeb-src http://src.example/debian bookworm main\ndeb [arch=amd64 signed-by=/k.gpg] http://archive.example/debian bookworm main\n',
    });
    expect(debianArchiveUri(read)).toBe('http://archive.example/debian');
  });

  it('is an error naming both files when neither has one', () => {
    expect(() => debianArchiveUri(files({}))).toThrow(
      /debian\.sources or \/etc\/apt\/sources\.list/,
    );
  });
});

describe('the Docker engine probe', () => {
  it('finds no engine when DOCKER_HOST names a port nothing answers on', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    expect(await pingDockerEngine({ DOCKER_HOST: `tcp://127.0.0.1:${port}` })).toBeUndefined();
  });

  it('finds an engine that answers GET /_ping with 200', async () => {
    const server = http.createServer((req, res) => {
      res.statusCode = req.url === '/_ping' ? 200 : 404;
      res.end('OK');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    try {
      const host = `tcp://127.0.0.1:${port}`;
      expect(await pingDockerEngine({ DOCKER_HOST: host })).toBe(host);
    } finally {
      server.close();
    }
  });
});
