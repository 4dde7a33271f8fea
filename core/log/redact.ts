/** Keys whose values are credentials wherever they appear in a log object, at any depth. Compared lower-case. */
export const SECRET_KEYS = new Set([
  'token',
  'apitoken',
  'api_token',
  'apikey',
  'api_key',
  'secret',
  'secretkey',
  'secret_key',
  'clientsecret',
  'client_secret',
  'password',
  'passwd',
  'authorization',
  'cookie',
  'set-cookie',
  'privatekey',
  'private_key',
  'accesskey',
  'access_key',
  'secretaccesskey',
  'sessiontoken',
  'session_token',
  'applicationsecret',
  'consumerkey',
  'webhooksecret',
  'signature',
  'x-auth-key',
  'x-ovh-signature',
  'x-ovh-consumer',
  'bearer',
]);

export const REDACTED = '[REDACTED]';

/** Case-exact spellings for pino's redact paths (child bindings), which cannot walk an object. */
export const SECRET_BINDING_KEYS = [
  'token',
  'apiToken',
  'api_token',
  'apiKey',
  'api_key',
  'secret',
  'secretKey',
  'clientSecret',
  'client_secret',
  'password',
  'passwd',
  'authorization',
  'Authorization',
  'cookie',
  'privateKey',
  'private_key',
  'accessKey',
  'secretAccessKey',
  'sessionToken',
  'applicationSecret',
  'consumerKey',
  'webhookSecret',
  'signature',
];

/**
 * Returns a copy of `value` with credential-named keys replaced, at every depth, and credentials embedded in
 * URLs (redis://:pass@host) masked. pino's own redact paths match fixed depths only, so this walks the object.
 */
export function redactDeep(value: unknown, ancestors = new Set<object>()): unknown {
  if (typeof value === 'string') return redactUrlCredentials(value);
  if (value === null || typeof value !== 'object') return value;
  // Only an object that contains itself is circular. One object reached twice (a rule whose target is also its
  // match destination: the same Prefix) is printed both times.
  if (ancestors.has(value)) return '[Circular]';
  if (value instanceof Error) {
    return { type: value.name, message: redactUrlCredentials(value.message), stack: value.stack };
  }
  ancestors.add(value);
  try {
    if (typeof (value as { toJSON?: unknown }).toJSON === 'function' && !Array.isArray(value)) {
      return redactDeep((value as { toJSON(): unknown }).toJSON(), ancestors);
    }
    if (Array.isArray(value)) return value.map((v) => redactDeep(v, ancestors));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = SECRET_KEYS.has(k.toLowerCase()) && v !== undefined && v !== null ? REDACTED : redactDeep(v, ancestors);
    }
    return out;
  } finally {
    ancestors.delete(value);
  }
}

const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/@:]*):([^\s/@]*)@/gi;
// Connection strings are often written without a scheme ("default:pw@10.0.0.1:6379"): mask those too.
const BARE_CREDENTIALS = /(^|[\s"'(=,<])([^\s/@:"'(=,<]*):([^\s/@"'<>]+)@(?=[A-Za-z0-9[])/g;

export function redactUrlCredentials(text: string): string {
  return text
    .replace(URL_CREDENTIALS, (_m, scheme: string, user: string) => `${scheme}${user}:${REDACTED}@`)
    .replace(BARE_CREDENTIALS, (m, lead: string, user: string, pass: string) =>
      pass === REDACTED ? m : `${lead}${user}:${REDACTED}@`,
    );
}
