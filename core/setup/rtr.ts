// An RTR cache that answers from this box: a stayrtr/gortr/Routinator process's listener, or the usual ports
// (323 is RTR's IANA port, RFC 8210; 8282 stayrtr's default; 3323 Routinator's), asked with ft's own RTR client.
import { parseHostPort } from '@ft/sdk';
import { canConnect } from './speakers.js';
import { optionValue, type HostProcess } from './host.js';

export interface FoundCache {
  /** HOST:PORT as `rpki.caches` takes it. */
  address: string;
  source: string;
  /** Set once the cache delivered a complete VRP set. */
  synced?: { vrps: number; serial: number };
  /** Why it did not, when it did not. */
  error?: string;
}

const USUAL_PORTS: readonly { port: number; what: string }[] = [
  { port: 323, what: "RTR's IANA port" },
  { port: 8282, what: "stayrtr's default port" },
  { port: 3323, what: "Routinator's default port" },
];

function dialable(bind: string): string | undefined {
  let hp;
  try {
    hp = parseHostPort(bind, { wildcard: true });
  } catch {
    return undefined;
  }
  if (hp.host === '' || hp.host === '0.0.0.0') return `127.0.0.1:${hp.port}`;
  if (hp.host === '::') return `[::1]:${hp.port}`;
  return bind;
}

function candidates(procs: readonly HostProcess[]): { address: string; source: string }[] {
  const out: { address: string; source: string }[] = [];
  const add = (address: string | undefined, source: string) => {
    if (address && !out.some((o) => o.address === address)) out.push({ address, source });
  };
  for (const p of procs) {
    if (p.name === 'stayrtr' || p.name === 'gortr')
      add(dialable(optionValue(p.argv, '-bind', '--bind') ?? ':8282'), `${p.name} (pid ${p.pid})`);
    else if (p.name === 'routinator' && p.argv.includes('server'))
      for (const a of [optionValue(p.argv, '--rtr') ?? '127.0.0.1:3323']) add(dialable(a), `routinator (pid ${p.pid})`);
  }
  for (const u of USUAL_PORTS) add(`127.0.0.1:${u.port}`, u.what);
  return out;
}

/** Every candidate that accepts a connection, asked for its VRPs within `timeoutMs`. */
export async function findRtrCaches(procs: readonly HostProcess[], timeoutMs = 5000): Promise<FoundCache[]> {
  const { RtrClient, parseCacheAddress } = await import('../rpki/index.js');
  const out: FoundCache[] = [];
  for (const c of candidates(procs)) {
    const cfg = parseCacheAddress(c.address);
    if (!(await canConnect(cfg.host, cfg.port))) continue;
    out.push({ ...c, ...(await askCache(new RtrClient({ caches: [cfg] }), timeoutMs)) });
  }
  return out;
}

/** One cache, asked for its VRPs; the result says how many or why not. */
export async function checkCache(address: string, timeoutMs = 5000): Promise<FoundCache> {
  const { RtrClient, parseCacheAddress } = await import('../rpki/index.js');
  return {
    address,
    source: 'given',
    ...(await askCache(new RtrClient({ caches: [parseCacheAddress(address)] }), timeoutMs)),
  };
}

async function askCache(
  client: import('../rpki/index.js').RtrClient,
  timeoutMs: number,
): Promise<Pick<FoundCache, 'synced' | 'error'>> {
  client.start();
  try {
    const snap = await client.ready(timeoutMs);
    return { synced: { vrps: snap.table.size, serial: snap.serial } };
  } catch (err) {
    return { error: (err as Error).message };
  } finally {
    client.stop();
  }
}
