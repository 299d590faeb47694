import { ElectionOptionsError } from './election-options.error';
import { ElectionMessages } from '../election.messages';

/**
 * The option names an options object accepts, as a record over its type's keys: adding an option
 * to the interface without listing it here fails to compile, so the check never refuses a real one.
 */
export type KnownKeys<T> = { readonly [K in keyof Required<T>]: true };

/**
 * Refuses a key `known` does not list, naming the closest known one: a typo such as `leaseduration`
 * would otherwise be ignored and its option left at the default, silently.
 */
export function refuseUnknownKeys<T>(value: object, known: KnownKeys<T>, path = ''): void {
  const names = Object.keys(known);
  for (const key of Object.keys(value)) {
    if (Object.prototype.hasOwnProperty.call(known, key)) continue;
    const field = path ? `${path}.${key}` : key;
    throw new ElectionOptionsError(
      field,
      ElectionMessages.unknownOption(field, closestName(key, names), names),
    );
  }
}

/** The known name a mistyped one most likely meant: the same letters in another case first, else the nearest by edits. */
export function closestName(name: string, names: readonly string[]): string | null {
  const lower = name.toLowerCase();
  const sameLetters = names.find((candidate) => candidate.toLowerCase() === lower);
  if (sameLetters) return sameLetters;
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const candidate of names) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  // Beyond about a third of the name, a "closest" option is a guess that misleads more than it helps.
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : null;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours. */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i += 1) {
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      rows[i][j] = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        rows[i][j] = Math.min(rows[i][j], rows[i - 2][j - 2] + 1);
    }
  }
  return rows[a.length][b.length];
}
