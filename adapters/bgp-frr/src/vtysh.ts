import { execFile } from 'node:child_process';

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

/** Runs vtysh with one `-c` per command (argv, never a shell). vtysh stops at the first failing command, exit 1. */
export function vtysh(opts: VtyshOptions, commands: string[]): Promise<VtyshResult> {
  for (const c of commands) if (/[\n\r\0]/.test(c)) return Promise.reject(new Error('a vtysh command is one line'));
  const args = [
    ...(opts.vtySocket ? ['--vty_socket', opts.vtySocket] : []),
    ...(opts.pathspace ? ['-N', opts.pathspace] : []),
    ...commands.flatMap((c) => ['-c', c]),
  ];
  return new Promise((resolve, reject) => {
    execFile(opts.vtysh, args, { timeout: opts.timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof (err as NodeJS.ErrnoException).code === 'string') {
        reject(new Error(`cannot run ${opts.vtysh}: ${err.message}`));
        return;
      }
      if (err && (err as { killed?: boolean }).killed) {
        reject(new Error(`vtysh timed out after ${opts.timeoutMs} ms`));
        return;
      }
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` });
    });
  });
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
