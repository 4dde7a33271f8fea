import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const CAP_NET_ADMIN = 12;
const CAP_NET_RAW = 13;

/**
 * Why ft cannot capture here, or undefined when it can: root (or CAP_NET_RAW and CAP_NET_ADMIN) and `tools`
 * installed (each answers `-v`).
 */
export function captureBlocker(
  tools: { name: string; package: string }[] = [
    { name: 'dumpcap', package: 'wireshark-common' },
    { name: 'mergecap', package: 'wireshark-common' },
    { name: 'editcap', package: 'wireshark-common' },
  ],
): string | undefined {
  if (process.getuid?.() !== 0) {
    let eff = 0n;
    try {
      const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
      if (m) eff = BigInt(`0x${m[1]}`);
    } catch {
      // Not Linux, or no /proc: no capabilities known.
    }
    const has = (bit: number) => (eff & (1n << BigInt(bit))) !== 0n;
    if (!has(CAP_NET_RAW) || !has(CAP_NET_ADMIN))
      return 'ft is not running as root (nor with CAP_NET_RAW and CAP_NET_ADMIN)';
  }
  const missing = tools.filter(
    (t) => spawnSync(t.name, ['-V'], { stdio: 'ignore', timeout: 10_000 }).error !== undefined,
  );
  if (missing.length > 0)
    return `${missing.map((t) => t.name).join(', ')} not installed (Debian: ${[...new Set(missing.map((t) => t.package))].join(', ')})`;
  return undefined;
}
