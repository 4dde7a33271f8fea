import { execFile } from 'node:child_process';

export interface BirdcResult {
  code: number;
  output: string;
}

/** Runs `birdc -s SOCKET <words...>` (argv, never a shell). birdc exits non-zero on errors such as a syntax error. */
export function birdc(birdcPath: string, socket: string, words: string[], timeoutMs: number): Promise<BirdcResult> {
  return new Promise((resolve, reject) => {
    execFile(
      birdcPath,
      ['-s', socket, ...words],
      { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const output = `${stdout}${stderr}`;
        if (err && typeof (err as NodeJS.ErrnoException).code === 'string') {
          reject(new Error(`cannot run ${birdcPath}: ${err.message}`));
          return;
        }
        if (err && (err as { killed?: boolean }).killed) {
          reject(new Error(`birdc ${words.join(' ')} timed out after ${timeoutMs} ms`));
          return;
        }
        const code = err ? Number((err as { code?: number }).code ?? 1) : 0;
        resolve({ code, output });
      },
    );
  });
}
