import { backoffDelay } from '@ft/sdk';

/** An absurd value (400 digits) is "a very long wait", not Infinity. */
const finite = (ms: number) => (Number.isFinite(ms) ? ms : Number.MAX_SAFE_INTEGER);

/**
 * How long the server asked us to wait, in ms, from the headers vendors use: Retry-After (seconds or an HTTP
 * date), then the IETF draft `RateLimit: "default";r=0;t=30` (Cloudflare), then `RateLimit-Reset` /
 * `X-RateLimit-Reset` (Hetzner, DigitalOcean, Linode: an epoch second, or seconds from now when small).
 */
export function serverWaitMs(headers: Headers, now = Date.now()): number | undefined {
  const retryAfter = headers.get('retry-after');
  if (retryAfter !== null && retryAfter.trim() !== '') {
    const s = retryAfter.trim();
    if (/^\d+(\.\d+)?$/.test(s)) return finite(Math.ceil(Number(s) * 1000));
    const at = Date.parse(s);
    if (!Number.isNaN(at)) return Math.max(0, at - now);
  }
  const draft = headers.get('ratelimit');
  if (draft) {
    const t = /(?:^|;)\s*t=(\d+)/.exec(draft);
    if (t) return finite(Number(t[1]) * 1000);
  }
  const reset = headers.get('ratelimit-reset') ?? headers.get('x-ratelimit-reset');
  if (reset !== null && /^\d+$/.test(reset.trim())) {
    const n = Number(reset.trim());
    // Epoch seconds are > 1e9; anything smaller is a delta in seconds.
    return finite(n > 1e9 ? Math.max(0, n * 1000 - now) : n * 1000);
  }
  return undefined;
}

/** ft's one backoff (@ft/sdk backoffDelay) as vendor calls use it: up to 25% added jitter. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random = Math.random): number {
  return backoffDelay(attempt, { baseMs, maxMs, jitter: [0, 0.25], random });
}
