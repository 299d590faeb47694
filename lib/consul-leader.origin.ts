import * as path from 'node:path';

/** Where an election was registered: which module call, and the user's line that made it. */
export interface ConsulLeaderOrigin {
  readonly method: 'forRoot' | 'forRootAsync';
  /** `file:line:column` of the call, relative to the working directory; undefined if unknown. */
  readonly at: string | undefined;
}

/**
 * The source position of the code that called `fn`, from a stack trace cut at `fn`, so that an
 * error about two registrations can point at both lines of the user's code.
 */
export function callSiteOf(fn: (...args: never[]) => unknown): string | undefined {
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder, fn);
  const frame = holder.stack?.split('\n')[1] ?? '';
  const position = /\(?((?:file:\/\/)?[^\s()]+):(\d+):(\d+)\)?\s*$/.exec(frame);
  if (!position) return undefined;
  const file = position[1].replace(/^file:\/\//, '');
  const relative = path.isAbsolute(file) ? path.relative(process.cwd(), file) : file;
  return `${relative}:${position[2]}:${position[3]}`;
}
