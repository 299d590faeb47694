/**
 * Plain ANSI colours for the demo's output (no dependency). On when stdout is a terminal, off with
 * NO_COLOR (the no-color convention), forced on with FORCE_COLOR=1 (CI logs that render colours).
 */
export interface Paint {
  (code: AnsiColour, text: string): string;
  readonly enabled: boolean;
}

export type AnsiColour = 'bold' | 'dim' | 'red' | 'green' | 'yellow' | 'blue' | 'magenta' | 'cyan';

const ESC = '\u001b';

const CODES: Record<AnsiColour, [number, number]> = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  blue: [34, 39],
  magenta: [35, 39],
  cyan: [36, 39],
};

export function createPaint(
  stream: NodeJS.WriteStream = process.stdout,
  env: NodeJS.ProcessEnv = process.env,
): Paint {
  const enabled = env.FORCE_COLOR ? env.FORCE_COLOR !== '0' : !env.NO_COLOR && !!stream.isTTY;
  const paint = (code: AnsiColour, text: string): string => {
    if (!enabled) return text;
    const [open, close] = CODES[code];
    // A coloured name inside a coloured line closes with the same code: reopen the outer colour.
    const inner = text.split(`${ESC}[${close}m`).join(`${ESC}[${close}m${ESC}[${open}m`);
    return `${ESC}[${open}m${inner}${ESC}[${close}m`;
  };
  return Object.assign(paint, { enabled });
}

const ANSI_SEQUENCE = new RegExp(`${ESC}\\[[0-9;]*m`, 'g');

export function stripAnsi(text: string): string {
  return text.replace(ANSI_SEQUENCE, '');
}
