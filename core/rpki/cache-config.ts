import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseCacheAddress, type RtrCacheConfig } from './client.js';

/**
 * The RTR caches a policy names under `rpki: { caches: [...] }`: each "HOST:PORT" or { address: "HOST:PORT",
 * preference: N, ca: FILE } (lower preference is tried first; `ca` is the PEM file, relative to the policy, with the
 * CA that signed a tls:// cache's certificate). Read straight from the YAML so `ft rpki` works on any
 * policy file without loading its adapters.
 */
export async function cachesFromPolicyFile(path: string): Promise<RtrCacheConfig[]> {
  let doc: unknown;
  try {
    doc = parseYaml(await readFile(path, 'utf8'));
  } catch (err) {
    throw new Error(
      `${path}: cannot read the policy (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      { cause: err },
    );
  }
  const rpki = (doc as { rpki?: unknown } | null)?.rpki;
  const list = typeof rpki === 'object' && rpki !== null ? (rpki as { caches?: unknown }).caches : undefined;
  if (!Array.isArray(list) || list.length === 0)
    throw new Error(`${path}: no RTR caches under rpki.caches (or pass --cache HOST:PORT)`);
  return Promise.all(
    list
      .map((entry, i) => {
        const where = `${path}: rpki.caches[${i}]`;
        const address = typeof entry === 'string' ? entry : (entry as { address?: unknown } | null)?.address;
        if (typeof address !== 'string')
          throw new Error(`${where} must be "HOST:PORT" or { address: HOST:PORT, preference: N, ca: FILE }`);
        let cache: RtrCacheConfig;
        try {
          cache = parseCacheAddress(address);
        } catch (err) {
          throw new Error(`${where}: ${(err as Error).message}`, { cause: err });
        }
        const preference = typeof entry === 'object' ? (entry as { preference?: unknown }).preference : undefined;
        if (preference !== undefined) {
          if (typeof preference !== 'number' || !Number.isInteger(preference) || preference < 0)
            throw new Error(`${where}.preference must be a non-negative integer`);
          cache.preference = preference;
        }
        return cache;
      })
      .map(async (cache, i) => {
        const entry = list[i] as { ca?: unknown } | string;
        const ca = typeof entry === 'object' && entry !== null ? entry.ca : undefined;
        if (ca === undefined) return cache;
        const where = `${path}: rpki.caches[${i}].ca`;
        if (typeof ca !== 'string' || ca === '') throw new Error(`${where} must be the path of a PEM file`);
        if (cache.transport !== 'tls')
          throw new Error(
            `${where}: a CA only applies to a tls:// cache; ${String((entry as { address?: unknown }).address)} is plain TCP`,
          );
        const file = resolve(dirname(path), ca);
        let pem: Buffer;
        try {
          pem = await readFile(file);
        } catch (err) {
          throw new Error(
            `${where}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
            { cause: err },
          );
        }
        if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`${where}: ${file} holds no PEM certificate`);
        return { ...cache, tls: { ...cache.tls, ca: pem } };
      }),
  );
}
