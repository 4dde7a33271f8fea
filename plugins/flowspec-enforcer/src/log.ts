import type { PluginLogger } from '@ft/sdk';

/** JSON lines on stderr (stdout stays for --json results); the same shape pino writes. */
export function stderrLogger(bindings: Record<string, unknown> = {}, quiet = false): PluginLogger {
  const write = (level: string) => (obj: object | string, msg?: string) => {
    if (quiet && level === 'debug') return;
    const body = typeof obj === 'string' ? { msg: obj } : { ...obj, ...(msg ? { msg } : {}) };
    process.stderr.write(`${JSON.stringify({ level, time: new Date().toISOString(), ...bindings, ...body })}\n`);
  };
  return {
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    child: (b) => stderrLogger({ ...bindings, ...b }, quiet),
  };
}
