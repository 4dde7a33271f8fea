/** One rule line of `iptables-save -c`, kept verbatim so ft can delete exactly what it reads. */
export interface SavedRule {
  chain: string;
  /** The line without counters, starting at "-A CHAIN". */
  spec: string;
  packets: number;
  bytes: number;
  target?: string;
}

export interface SavedTable {
  chains: Set<string>;
  rules: SavedRule[];
}

/** Parses `iptables-save [-c]` output into tables → chains and rules. */
export function parseSave(text: string): Map<string, SavedTable> {
  const tables = new Map<string, SavedTable>();
  let current: SavedTable | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('*')) {
      current = { chains: new Set(), rules: [] };
      tables.set(line.slice(1), current);
      continue;
    }
    if (!current) continue;
    if (line === 'COMMIT') {
      current = undefined;
      continue;
    }
    if (line.startsWith(':')) {
      current.chains.add(line.slice(1).split(' ')[0] as string);
      continue;
    }
    const m = /^(?:\[(\d+):(\d+)\]\s+)?(-A\s+(\S+)\s.*)$/.exec(line);
    if (!m) continue;
    const spec = m[3] as string;
    const target = /\s-[jg]\s+(\S+)/.exec(spec)?.[1];
    current.rules.push({
      chain: m[4] as string,
      spec,
      packets: Number(m[1] ?? 0),
      bytes: Number(m[2] ?? 0),
      ...(target ? { target } : {}),
    });
  }
  return tables;
}
