// Helpers for the NestJS-layer unit tests: polling with a deadline, a free loopback port, quiet logs.
import { ConsoleLogger, Logger } from '@nestjs/common';
import * as net from 'node:net';

/** Polls `probe` until it returns true; fails with `what` after `timeoutMs`. */
export async function waitFor(
  what: string,
  probe: () => boolean,
  timeoutMs = 5_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline)
      throw new Error(`Timed out after ${timeoutMs}ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Collects what Nest's Logger prints, per level, and keeps it off the console. */
export function captureLogs(): {
  lines: Array<{ level: string; message: string; context?: string }>;
  restore(): void;
} {
  const lines: Array<{ level: string; message: string; context?: string }> = [];
  const record = (level: string) => (message: unknown, context?: unknown) => {
    lines.push({
      level,
      message: String(message),
      context: typeof context === 'string' ? context : undefined,
    });
  };
  Logger.overrideLogger({
    log: record('log'),
    error: record('error'),
    warn: record('warn'),
    debug: record('debug'),
    verbose: record('verbose'),
    fatal: record('fatal'),
  });
  return { lines, restore: () => Logger.overrideLogger(new ConsoleLogger()) };
}
