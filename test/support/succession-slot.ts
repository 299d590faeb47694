import { SUCCESSION_LIST_LENGTH, successionRank } from '../../lib/election/protocol/succession';

/**
 * An instance id, starting with `prefix`, that ordered succession puts in hash slot `slot` when no
 * holder has named it (lib/election/protocol/succession.ts): such a candidate tries a free key only
 * `slot × successionStep` after it saw it free. Lets a spec choose who tries first, or last.
 */
export function instanceIdInSlot(prefix: string, slot: number): string {
  if (!Number.isInteger(slot) || slot < 0 || slot >= SUCCESSION_LIST_LENGTH)
    throw new Error(`slot must be an integer in [0, ${SUCCESSION_LIST_LENGTH - 1}], got ${slot}`);
  for (let n = 0; n < 10_000; n++) {
    const id = `${prefix}-${n}`;
    if (successionRank(undefined, id) === slot) return id;
  }
  throw new Error(`no id with prefix ${prefix} in slot ${slot}`);
}
