/** One filter entry of `xdp-filter status`, split into single-mode objects ("ip 192.0.2.7 src", "port 53 src udp"). */
export interface XdpEntry {
  object: string;
  key: string;
  hits: number;
}

export interface XdpStatus {
  /** Interfaces xdp-filter is loaded on, with the mode ("native", "skb"). */
  loaded: Map<string, string>;
  entries: XdpEntry[];
}

export function parseStatus(text: string): XdpStatus {
  const loaded = new Map<string, string>();
  const entries: XdpEntry[] = [];
  let section = '';
  for (const line of text.split('\n')) {
    if (/^Loaded on interfaces:/.test(line)) section = 'loaded';
    else if (/^Filtered ports:/.test(line)) section = 'port';
    else if (/^Filtered IP addresses:/.test(line)) section = 'ip';
    else if (/^Filtered MAC addresses:/.test(line)) section = 'mac';
    else if (/^Aggregate/.test(line)) section = '';
    else if (section === 'loaded') {
      const m = /^\s+(\S+) \((\w+) mode\)/.exec(line);
      if (m) loaded.set(m[1] as string, m[2] as string);
    } else if (section === 'port' || section === 'ip') {
      const m = /^\s+(\S+)\s+([a-z,]+)\s+(\d+)\s*$/.exec(line);
      if (!m) continue;
      const key = m[1] as string;
      const modes = (m[2] as string).split(',');
      const hits = Number(m[3]);
      const dirs = modes.filter((x) => x === 'src' || x === 'dst');
      if (section === 'ip') for (const d of dirs) entries.push({ object: `ip ${key} ${d}`, key, hits });
      else
        for (const d of dirs)
          for (const p of modes.filter((x) => x === 'tcp' || x === 'udp'))
            entries.push({ object: `port ${key} ${d} ${p}`, key, hits });
    }
  }
  return { loaded, entries };
}
