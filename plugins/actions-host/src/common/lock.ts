/**
 * One change at a time per shared object set in this process. Two instances (say iptables and ipset, both hooked
 * from FT-INPUT) read, decide and write: without this, one could declare FT-INPUT afresh (which empties it) while
 * the other had just jumped to its rule from it, or delete ft's nft table while another instance adds to it.
 */
const tails = new Map<string, Promise<unknown>>();

export async function serialize<T>(key: string, work: () => Promise<T>): Promise<T> {
  const previous = tails.get(key) ?? Promise.resolve();
  const run = previous.catch(() => undefined).then(work);
  tails.set(key, run);
  try {
    return await run;
  } finally {
    if (tails.get(key) === run) tails.delete(key);
  }
}
