// Flags shared by the `ft rpki` commands (kept here, not under commands/, so oclif does not take it for a command).
import { Flags } from '@oclif/core';
import type { RtrCacheConfig } from './client.js';

export const cacheFlags = {
  cache: Flags.string({
    summary: 'RTR cache to ask, as HOST:PORT or [IPv6]:PORT; repeat for several (first is preferred).',
    multiple: true,
  }),
  'cache-ca': Flags.string({
    summary: "PEM file with the CA that signed the tls:// caches' certificates (default: the system CAs).",
  }),
  policy: Flags.string({ summary: 'Take the RTR caches from this policy file (rpki.caches).', exclusive: ['cache'] }),
  timeout: Flags.integer({
    summary: 'Seconds to wait for a cache to deliver its VRPs.',
    default: 10,
    min: 1,
    max: 600,
  }),
};

/** The caches from --cache or --policy; an error naming the flag when neither gives any. */
export async function resolveCaches(flags: {
  cache?: string[];
  policy?: string;
  'cache-ca'?: string;
}): Promise<RtrCacheConfig[]> {
  const { parseCacheAddress, cachesFromPolicyFile } = await import('./index.js');
  let caches: RtrCacheConfig[];
  if (flags.cache && flags.cache.length > 0)
    caches = flags.cache.map((c, i) => ({ ...parseCacheAddress(c), preference: i }));
  else if (flags.policy) caches = await cachesFromPolicyFile(flags.policy);
  else throw new Error('no RTR cache given: pass --cache HOST:PORT (repeatable) or --policy FILE with rpki.caches');
  const caFile = flags['cache-ca'];
  if (caFile) {
    const { readFile } = await import('node:fs/promises');
    const ca = await readFile(caFile).catch((err: NodeJS.ErrnoException) => {
      throw new Error(`--cache-ca ${caFile}: cannot read (${err.code ?? err.message})`);
    });
    caches = caches.map((c) => (c.transport === 'tls' ? { ...c, tls: { ...c.tls, ca } } : c));
  }
  return caches;
}
