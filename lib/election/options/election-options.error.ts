/** Thrown at construction when an option is missing, out of range, or breaks a safety rule. */
export class ElectionOptionsError extends Error {
  override readonly name = 'ElectionOptionsError';

  constructor(
    /** The option path at fault, e.g. `'healthCheck.ttl'`. */
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}
