import { Flags } from '@oclif/core';

/** --dir / --state-dir, shared by the `ft pcap` commands that read ft's captures. */
export const dirFlags = {
  dir: Flags.string({ summary: "The pcap detector's capture directory (its `dir` option), when not the default." }),
  'state-dir': Flags.string({
    summary: 'State directory whose pcap/ holds the captures (default: /var/lib/ft as root, else $XDG_STATE_HOME/ft).',
  }),
};

export async function captureDirFrom(flags: {
  dir?: string | undefined;
  'state-dir'?: string | undefined;
}): Promise<string> {
  if (flags.dir) return flags.dir;
  const { defaultStateDir } = await import('@ft/sdk');
  const { captureDir } = await import('../capture/store.js');
  return captureDir(flags['state-dir'] ?? defaultStateDir());
}
