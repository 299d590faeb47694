import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

export interface RunOptions {
  readonly cwd: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly timeoutMs?: number;
  /** Resolve with a non-zero exit instead of rejecting (the caller inspects the output). */
  readonly allowFailure?: boolean;
}

/**
 * Runs a command to completion and collects its output. A non-zero exit or a timeout rejects with
 * the command line, the folder and the tail of both streams, so a failing install or compile says
 * why in the Jest report without rerunning anything by hand.
 */
export function run(
  command: string,
  args: readonly string[],
  options: RunOptions,
): Promise<RunResult> {
  const started = performance.now();
  const line = [command, ...args].join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timeoutMs = options.timeoutMs ?? 180_000;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `\`${line}\` in ${options.cwd} did not finish within ${timeoutMs} ms\n${tails(stdout, stderr)}`,
        ),
      );
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`\`${line}\` in ${options.cwd} could not start: ${error.message}`));
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      const result = { code, stdout, stderr, ms: Math.round(performance.now() - started) };
      if (code === 0 || options.allowFailure) resolve(result);
      else
        reject(
          new Error(`\`${line}\` in ${options.cwd} exited with ${code}\n${tails(stdout, stderr)}`),
        );
    });
  });
}

export function tail(text: string, lines = 40): string {
  const all = text.trimEnd().split('\n');
  return all.slice(-lines).join('\n');
}

function tails(stdout: string, stderr: string): string {
  return `--- stdout (tail) ---\n${tail(stdout)}\n--- stderr (tail) ---\n${tail(stderr)}`;
}
