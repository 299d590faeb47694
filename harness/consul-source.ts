import * as fs from 'node:fs';
import * as http from 'node:http';
import {
  debianConsulBinary,
  findExecutable,
  isDebianWithApt,
  isExecutableFile,
  provisionDebianConsul,
} from './debian-consul';

/** Where the tests' Consul comes from. */
export interface ConsulSource {
  kind: 'external' | 'binary' | 'docker' | 'debian';
  /** Local binary (`binary`, `debian`): for `debian` it may not be fetched yet, see `ensureConsulSource`. */
  binary?: string;
  /** Base URL of an external agent (`external`). */
  address?: string;
  /** One line for humans: why this source was chosen. */
  detail: string;
}

/** What `resolveConsulSource` looks at; a test replaces parts to fake a machine. */
export interface ConsulProbe {
  env: NodeJS.ProcessEnv;
  /** Full path of `command` on PATH, if any. */
  findOnPath(command: string): string | undefined;
  isExecutable(file: string): boolean;
  /** A reachable Docker engine's description, or undefined (nothing configured or no answer). */
  dockerEngine(): Promise<string | undefined>;
  /** `/etc/debian_version` and `apt-get` exist. */
  debianWithApt(): boolean;
  /** Path the Debian package's binary is (or will be) cached at. */
  debianBinary(): string;
  /** Used by `ensureConsulSource` only: why testcontainers cannot run, or undefined. */
  testcontainersProblem?(): Promise<string | undefined>;
}

export function defaultConsulProbe(): ConsulProbe {
  return {
    env: process.env,
    findOnPath: (command) => findExecutable(command, process.env.PATH),
    isExecutable: isExecutableFile,
    dockerEngine: () => pingDockerEngine(process.env),
    debianWithApt: isDebianWithApt,
    debianBinary: () => debianConsulBinary(),
  };
}

export const CONSUL_SOURCE_HELP = [
  'The tests need a Consul agent and found none. They look, in this order, for:',
  '  1. CONSUL_HTTP_ADDR: an agent already running, e.g. CONSUL_HTTP_ADDR=127.0.0.1:8500',
  '     (tests that restart the agent, use ACLs or a cluster still need a local binary);',
  '  2. a consul binary: CONSUL_BIN=/path/to/consul, or `consul` on PATH;',
  '  3. Docker: a reachable engine (DOCKER_HOST or /var/run/docker.sock) runs hashicorp/consul;',
  '  4. Debian: with /etc/debian_version and apt-get, the `consul` package of Debian 11 is',
  '     fetched once into .consul/debian/ (no root needed, nothing installed system-wide).',
  'Fix: start an agent (`consul agent -dev`) and set CONSUL_HTTP_ADDR=127.0.0.1:8500,',
  "or set CONSUL_BIN=/path/to/consul (a consul binary from HashiCorp's releases or your package manager).",
].join('\n');

/** Accepts `host:port` or `http(s)://host:port[/]` and returns a base URL without a trailing slash. */
export function normalizeConsulAddress(value: string): string {
  const withScheme = /^https?:\/\//i.test(value) ? value : `http://${value}`;
  const url = new URL(withScheme);
  if (url.port === '' && !/:\d+$/.test(url.host)) {
    throw new Error(`CONSUL_HTTP_ADDR=${value} has no port; use host:port, e.g. 127.0.0.1:8500`);
  }
  return `${url.protocol}//${url.host}`;
}

/**
 * Decides where Consul comes from, in this order: (1) `CONSUL_HTTP_ADDR` (skipped with
 * `forceLocal`), (2) `CONSUL_BIN` or `consul` on PATH, (3) a Docker engine that answers a ping,
 * (4) the Debian package. Nothing is downloaded or started here; throws one error listing all
 * four ways when none applies.
 */
export async function resolveConsulSource(
  probe: Partial<ConsulProbe> = {},
  options: { forceLocal?: boolean } = {},
): Promise<ConsulSource> {
  const p: ConsulProbe = { ...defaultConsulProbe(), ...probe };
  const addr = p.env.CONSUL_HTTP_ADDR?.trim();
  if (addr && !options.forceLocal) {
    const address = normalizeConsulAddress(addr);
    return { kind: 'external', address, detail: `CONSUL_HTTP_ADDR=${addr}: using ${address}` };
  }
  const bin = p.env.CONSUL_BIN?.trim();
  if (bin) {
    if (!p.isExecutable(bin)) {
      throw new Error(`CONSUL_BIN=${bin} is not an executable file.\n\n${CONSUL_SOURCE_HELP}`);
    }
    return { kind: 'binary', binary: bin, detail: `CONSUL_BIN=${bin}` };
  }
  const onPath = p.findOnPath('consul');
  if (onPath) return { kind: 'binary', binary: onPath, detail: `consul on PATH: ${onPath}` };
  const engine = await p.dockerEngine();
  if (engine) return { kind: 'docker', detail: `Docker engine at ${engine}` };
  if (p.debianWithApt()) return debianSource(p);
  throw new Error(
    options.forceLocal && addr
      ? `This test starts its own agent, so CONSUL_HTTP_ADDR=${addr} is not enough.\n\n${CONSUL_SOURCE_HELP}`
      : CONSUL_SOURCE_HELP,
  );
}

function debianSource(p: ConsulProbe, note = ''): ConsulSource {
  const binary = p.debianBinary();
  const state = p.isExecutable(binary) ? 'cached at' : 'to be fetched into';
  return {
    kind: 'debian',
    binary,
    detail: `Debian package consul (bullseye), ${state} ${binary}${note}`,
  };
}

/**
 * Why testcontainers cannot run here, or undefined. testcontainers 12 depends on undici 8, which
 * needs Node >= 22.19 and throws while loading on Node 20; the harness must not die with that
 * stack trace on a machine that merely has Docker.
 */
export async function testcontainersProblem(): Promise<string | undefined> {
  try {
    await import('testcontainers');
    return undefined;
  } catch (error) {
    return `testcontainers cannot be loaded on Node ${process.versions.node} (${(error as Error).message.split('\n')[0]})`;
  }
}

/**
 * `resolveConsulSource`, then what makes the answer usable: a `docker` source whose testcontainers
 * cannot load falls back to Debian (or fails, saying why), and a `debian` source gets its binary
 * fetched.
 */
export async function ensureConsulSource(
  probe: Partial<ConsulProbe> = {},
  options: { forceLocal?: boolean } = {},
): Promise<ConsulSource> {
  const p: ConsulProbe = { ...defaultConsulProbe(), ...probe };
  let source = await resolveConsulSource(p, options);
  if (source.kind === 'docker') {
    const problem = await (p.testcontainersProblem ?? testcontainersProblem)();
    if (problem === undefined) return source;
    if (!p.debianWithApt()) {
      throw new Error(`${source.detail} was found, but ${problem}.\n\n${CONSUL_SOURCE_HELP}`);
    }
    source = debianSource(p, ` (Docker skipped: ${problem})`);
  }
  if (source.kind !== 'debian') return source;
  const binary = await provisionDebianConsul();
  return {
    ...source,
    binary,
    detail: source.detail.replace(/, (cached at|to be fetched into) /, ' at '),
  };
}

/**
 * GET /_ping on the engine testcontainers would use. Only a quick answer counts: a stale socket
 * file or a DOCKER_HOST that nothing listens on (as on these machines) means no Docker.
 */
export async function pingDockerEngine(
  env: NodeJS.ProcessEnv,
  timeoutMs = 1_500,
): Promise<string | undefined> {
  const target = dockerTarget(env);
  if (target === undefined) return undefined;
  const request = target.request;
  if (request === undefined) return target.label;
  return new Promise((resolve) => {
    const ping = http.request(
      { ...request, path: '/_ping', method: 'GET', timeout: timeoutMs },
      (response) => {
        response.resume();
        resolve(response.statusCode === 200 ? target.label : undefined);
      },
    );
    ping.on('timeout', () => ping.destroy());
    ping.on('error', () => resolve(undefined));
    ping.end();
  });
}

function dockerTarget(
  env: NodeJS.ProcessEnv,
): { label: string; request: http.RequestOptions | undefined } | undefined {
  const host = env.DOCKER_HOST?.trim();
  if (host) {
    if (host.startsWith('unix://')) {
      const socketPath = host.slice('unix://'.length);
      return { label: host, request: { socketPath } };
    }
    if (/^(tcp|http):\/\//.test(host) && !env.DOCKER_TLS_VERIFY) {
      const url = new URL(host.replace(/^tcp:/, 'http:'));
      return { label: host, request: { host: url.hostname, port: Number(url.port || 2375) } };
    }
    // ssh:// and TLS engines need credentials a plain ping lacks: let testcontainers judge.
    return { label: host, request: undefined };
  }
  if (fs.existsSync('/var/run/docker.sock')) {
    return {
      label: 'unix:///var/run/docker.sock',
      request: { socketPath: '/var/run/docker.sock' },
    };
  }
  return undefined;
}
