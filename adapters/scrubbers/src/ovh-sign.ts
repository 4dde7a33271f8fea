import { createHash } from 'node:crypto';

/**
 * OVH API request signature: "$1$" + sha1_hex(AS + "+" + CK + "+" + METHOD + "+" + URL + "+" + BODY + "+" + TS),
 * over the full URL exactly as sent and the exact body bytes (empty for GET/DELETE).
 */
export function ovhSignature(
  appSecret: string,
  consumerKey: string,
  method: string,
  url: string,
  body: string,
  timestamp: number,
): string {
  return `$1$${createHash('sha1')
    .update([appSecret, consumerKey, method.toUpperCase(), url, body, String(timestamp)].join('+'))
    .digest('hex')}`;
}
