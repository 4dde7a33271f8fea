import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * ft's state directory when none is given: $FT_STATE_DIR, else /var/lib/ft as root (a system service), else the
 * XDG state home (~/.local/state/ft). Plugins keep their files under it (the pcap plugin's captures: pcap/).
 */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.FT_STATE_DIR) return env.FT_STATE_DIR;
  if (process.getuid?.() === 0) return '/var/lib/ft';
  const base =
    env.XDG_STATE_HOME && env.XDG_STATE_HOME.startsWith('/')
      ? env.XDG_STATE_HOME
      : join(env.HOME ?? homedir(), '.local', 'state');
  return join(base, 'ft');
}
