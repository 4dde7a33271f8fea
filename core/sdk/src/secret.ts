const REDACTED = '[REDACTED]';

/**
 * A credential that cannot leak by accident: string interpolation, JSON and util.inspect all print [REDACTED].
 * The value is only reachable through reveal(), which makes every use greppable.
 */
export class Secret {
  readonly #value: string;
  constructor(
    value: string,
    readonly name = 'secret',
  ) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return REDACTED;
  }
  toJSON(): string {
    return REDACTED;
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Secret(${this.name}: ${REDACTED})`;
  }
}

export function isSecret(value: unknown): value is Secret {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Secret).reveal === 'function' &&
    (value as Secret).toString() === REDACTED
  );
}
