// Helpers for the NestJS-layer unit tests: quiet logs. (Polling and free ports: harness/.)
import { ConsoleLogger, Logger } from '@nestjs/common';

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
