import { createPaint, type AnsiColour } from './ansi';
import type { LogLine, SampleInstance } from './sample-instance';

/**
 * Hidden unless `--verbose`: Nest's start-up chatter, and debug lines (the library logs every
 * skipped `@LeaderOnly` method at debug, once per method each time an instance stops leading).
 */
const STARTUP_CONTEXTS = new Set([
  'NestFactory',
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
]);
const QUIET_LEVELS = new Set(['DEBUG', 'VERBOSE']);

/** `1234 ms` below ten seconds, `12.3 s` above. */
export function formatMs(value: number): string {
  return value < 10_000 ? `${Math.round(value)} ms` : `${(value / 1000).toFixed(1)} s`;
}

/** The demo's console: its own narration and each instance's output, prefixed, timed and coloured. */
export class DemoConsole {
  readonly paint = createPaint();
  private readonly startedAt = performance.now();
  private readonly colours = new Map<string, AnsiColour>();

  constructor(private readonly verbose: boolean) {}

  colour(name: string, colour: AnsiColour): void {
    this.colours.set(name, colour);
  }

  private stamp(): string {
    return `${((performance.now() - this.startedAt) / 1000).toFixed(1).padStart(6)}s`;
  }

  narrate(text: string, colour: AnsiColour = 'bold'): void {
    console.log(`${this.paint('dim', this.stamp())} ${this.paint(colour, `demo ┃ ${text}`)}`);
  }

  label(instance: SampleInstance): string {
    return this.paint(this.colours.get(instance.name) ?? 'bold', instance.name);
  }

  printLine(instance: SampleInstance, raw: string, line: LogLine | undefined): void {
    if (
      line &&
      !this.verbose &&
      (QUIET_LEVELS.has(line.level) || (line.level === 'LOG' && STARTUP_CONTEXTS.has(line.context)))
    ) {
      return;
    }
    const colour = this.colours.get(instance.name) ?? 'bold';
    let text = line ? `[${line.context}] ${line.message}` : raw;
    if (line && line.level !== 'LOG') text = `${line.level} ${text}`;
    if (line?.level === 'WARN') text = this.paint('yellow', text);
    if (line && ['ERROR', 'FATAL'].includes(line.level)) text = this.paint('red', text);
    console.log(
      `${this.paint('dim', this.stamp())} ${this.paint(colour, `${instance.name.padEnd(4)} ┃`)} ${text}`,
    );
  }
}
