import { runArgv } from '@ft/sdk';

export interface BirdcResult {
  code: number;
  output: string;
}

/** Runs `birdc -s SOCKET <words...>` (ft's one argv runner, never a shell). birdc exits non-zero on errors such as a syntax error. */
export async function birdc(
  birdcPath: string,
  socket: string,
  words: string[],
  timeoutMs: number,
): Promise<BirdcResult> {
  const r = await runArgv([birdcPath, '-s', socket, ...words], { timeoutMs });
  if (r.timedOut) throw new Error(`birdc ${words.join(' ')} timed out after ${timeoutMs} ms`);
  if (r.code === null) throw new Error(`cannot run ${birdcPath}: ${r.stderr}`);
  return { code: r.code, output: `${r.stdout}${r.stderr}` };
}
