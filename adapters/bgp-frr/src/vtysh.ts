import { runArgv } from '@ft/sdk';

export interface VtyshOptions {
  vtysh: string;
  vtySocket?: string;
  pathspace?: string;
  timeoutMs: number;
}

export interface VtyshResult {
  code: number;
  output: string;
}

/** Runs vtysh with one `-c` per command (ft's one argv runner, never a shell). vtysh stops at the first failing command, exit 1. */
export async function vtysh(opts: VtyshOptions, commands: string[]): Promise<VtyshResult> {
  for (const c of commands) if (/[\n\r\0]/.test(c)) throw new Error('a vtysh command is one line');
  const args = [
    ...(opts.vtySocket ? ['--vty_socket', opts.vtySocket] : []),
    ...(opts.pathspace ? ['-N', opts.pathspace] : []),
    ...commands.flatMap((c) => ['-c', c]),
  ];
  const r = await runArgv([opts.vtysh, ...args], { timeoutMs: opts.timeoutMs });
  if (r.timedOut) throw new Error(`vtysh timed out after ${opts.timeoutMs} ms`);
  if (r.code === null) throw new Error(`cannot run ${opts.vtysh}: ${r.stderr}`);
  return { code: r.code, output: `${r.stdout}${r.stderr}` };
}

/** vtysh prints one JSON document per `show ... json` command, back to back: split them (strings may hold braces). */
export function splitJsonDocuments(text: string): unknown[] {
  const docs: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  let escaped = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (ch === '\\') escaped = true;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === '{' || ch === '[') {
      if (depth === 0) start = i;
      depth++;
    } else if ((ch === '}' || ch === ']') && depth > 0) {
      depth--;
      if (depth === 0 && start >= 0) {
        docs.push(JSON.parse(text.slice(start, i + 1)));
        start = -1;
      }
    }
  }
  return docs;
}
