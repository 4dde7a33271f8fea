import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const CAP_NET_ADMIN = 12;
const CAP_NET_RAW = 13;

/** Why ft cannot capture here, or undefined when it can (root, or both capabilities, and the tools installed). */
export function captureBlocker(): string | undefined {
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
  const missing = ['dumpcap', 'mergecap', 'editcap'].filter(
    (t) => spawnSync(t, ['-v'], { stdio: 'ignore', timeout: 10_000 }).status !== 0,
  );
  if (missing.length > 0) return `${missing.join(', ')} not installed (Debian: wireshark-common)`;
  return undefined;
}
