#!/usr/bin/env node
// `nestjs-consul-leader status <key>`: who leads an election right now, as Consul has it
// (docs/operations/status-cli.md). The package's `bin`.
import { parseArgs } from 'node:util';
import { ConsulRequestError } from '../election/consul/consul-request.error';
import { ElectionOptionsError } from '../election/options/election-options.error';
import { resolveConsul } from '../election/options/consul-connection-options';
import { resolveHealthCheck } from '../election/options/health-check-options';
import { createConsulClient } from '../election/consul/consul-client';
import { readElectionStatus } from './election-status';
import { formatStatus } from './status-table';

/** What the command exits with; documented in docs/operations/status-cli.md. */
export const ExitCode = {
  /** A session holds the key: there is a leader. */
  held: 0,
  /** Nobody holds the key: absent, released, handed back or vacant. */
  notHeld: 1,
  /** The command line is wrong. */
  usage: 2,
  /** Consul could not be asked: unreachable, refused the token, or answered something unexpected. */
  consulError: 3,
} as const;

export const USAGE = `Usage: nestjs-consul-leader status <key> [options]

Who leads the election on <key>, since when, its fencing token, successors, the released marker,
the lock-delay and the candidates with their check status, as Consul has them now.

Options:
  --json             print the status as JSON (for scripts)
  --service <name>   the candidates' service (healthCheck.serviceName; default: derived from <key>)
  --addr <address>   Consul's HTTP address, host:port or http(s)://host:port (default: CONSUL_HTTP_ADDR, 127.0.0.1:8500)
  --token <token>    ACL token (default: CONSUL_HTTP_TOKEN)
  --dc <datacenter>  datacenter to ask
  -h, --help         this text

Exit codes: 0 a leader holds the key, 1 nobody holds it, 2 usage error, 3 Consul could not be asked.`;

interface Output {
  out(text: string): void;
  err(text: string): void;
}

/** Runs the command line `argv` (without node and the script) and returns the exit code. */
export async function main(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  output: Output,
): Promise<number> {
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine(argv);
  } catch (error) {
    output.err(`${(error as Error).message}\n\n${USAGE}`);
    return ExitCode.usage;
  }
  if (parsed.help) {
    output.out(USAGE);
    return 0;
  }
  const { key, values } = parsed;
  let connection;
  let serviceName: string;
  try {
    connection = resolveConsul(
      { ...(values.token ? { token: values.token } : {}), ...(values.dc ? { dc: values.dc } : {}) },
      values.addr ? { ...env, CONSUL_HTTP_ADDR: values.addr } : env,
    );
    serviceName = resolveHealthCheck(
      values.service ? { serviceName: values.service } : undefined,
      key,
    )!.serviceName;
  } catch (error) {
    if (!(error instanceof ElectionOptionsError)) throw error;
    output.err(error.message);
    return ExitCode.usage;
  }
  const { client, agent } = createConsulClient(connection);
  try {
    const status = await readElectionStatus(client, key, serviceName);
    output.out(values.json ? JSON.stringify(status, null, 2) : formatStatus(status, new Date()));
    return status.state === 'held' ? ExitCode.held : ExitCode.notHeld;
  } catch (error) {
    if (!(error instanceof ConsulRequestError)) throw error;
    const where = `${connection.secure ? 'https' : 'http'}://${connection.host}:${connection.port}`;
    output.err(`${error.message} (Consul at ${where}, key "${key}", service ${serviceName})`);
    return ExitCode.consulError;
  } finally {
    agent.destroy();
  }
}

function parseCommandLine(argv: readonly string[]) {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      service: { type: 'string' },
      addr: { type: 'string' },
      token: { type: 'string' },
      dc: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return { help: true as const };
  const [command, key, ...rest] = positionals;
  if (command !== 'status') throw new Error(`Unknown command ${JSON.stringify(command ?? '')}.`);
  if (!key) throw new Error('status needs the election key.');
  if (rest.length) throw new Error(`Unexpected arguments: ${rest.join(' ')}.`);
  return { help: false as const, key, values };
}

if (require.main === module) {
  main(process.argv.slice(2), process.env, {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(
        `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exitCode = ExitCode.consulError;
    },
  );
}
