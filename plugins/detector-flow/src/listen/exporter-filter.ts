import { Prefix } from '@ft/sdk';

/** Decides whether a datagram's source may feed the collector; decisions are cached per address (bounded). */
export class ExporterFilter {
  private readonly cache = new Map<string, boolean>();
  dropped = 0;

  constructor(private readonly allowed: readonly Prefix[]) {}

  allows(address: string): boolean {
    if (this.allowed.length === 0) return true;
    let ok = this.cache.get(address);
    if (ok === undefined) {
      try {
        const host = Prefix.parse(address);
        ok = this.allowed.some((p) => p.contains(host));
      } catch {
        ok = false;
      }
      if (this.cache.size >= 4096) this.cache.clear();
      this.cache.set(address, ok);
    }
    if (!ok) this.dropped++;
    return ok;
  }
}

/** Source address text as ft keys exporters: IPv4-mapped IPv6 (from a dual-stack socket) becomes plain IPv4. */
export function exporterKey(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
