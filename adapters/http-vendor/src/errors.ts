/** A vendor API call that failed for good (after any retries), with what the operator needs to act on it. */
export class VendorHttpError extends Error {
  constructor(
    readonly vendor: string,
    readonly method: string,
    /** Path without query string: queries can carry ids but never credentials, still we keep logs minimal. */
    readonly path: string,
    readonly status: number | undefined,
    /** The vendor's own error text (from its error body), when it gave one. */
    readonly vendorMessage: string | undefined,
    readonly attempts: number,
    readonly kind: 'auth' | 'rate-limited' | 'client' | 'server' | 'network' | 'timeout' | 'conflict',
  ) {
    super(
      `${vendor}: ${method} ${path} ${status !== undefined ? `failed with HTTP ${status}` : `failed (${kind})`}` +
        `${vendorMessage ? `: ${vendorMessage}` : ''}${attempts > 1 ? ` after ${attempts} attempts` : ''}` +
        (kind === 'auth' ? ' (check the credential and its permissions; not retried)' : ''),
    );
    this.name = 'VendorHttpError';
  }
}

/** Someone else changed a replace-the-whole-set object between our read and our write, and retries ran out. */
export class ConflictError extends Error {
  constructor(
    readonly vendor: string,
    what: string,
    attempts: number,
  ) {
    super(
      `${vendor}: ${what} kept changing under us (concurrent modification); gave up after ${attempts} read-modify-write attempts, nothing was written`,
    );
    this.name = 'ConflictError';
  }
}
