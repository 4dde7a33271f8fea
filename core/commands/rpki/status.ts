import { FtCommand } from '../../cli/command.js';
import { table } from '../../cli/table.js';
import { cacheFlags, resolveCaches } from '../../rpki/command-flags.js';
import type { CacheStatus } from '../../rpki/client.js';

export default class RpkiStatus extends FtCommand {
  static override summary = 'Connect to RTR caches and show session, serial, VRP counts, data age and last error.';
  static override description =
    'Opens an RTR session (RFC 8210, falling back to RFC 6810) to each cache, waits until each has delivered its VRPs or failed, prints what it found and disconnects. Exits 1 when no cache delivered fresh data.';
  static override enableJsonFlag = true;
  static override flags = { ...cacheFlags };
  static override examples = [
    '<%= config.bin %> rpki status --cache 127.0.0.1:8282',
    '<%= config.bin %> rpki status --cache rtr1.example.net:8282 --cache rtr2.example.net:8282 --json',
    '<%= config.bin %> rpki status --policy policies/example.yaml',
  ];

  async run(): Promise<{ active?: string; caches: CacheStatus[] }> {
    const { flags } = await this.parse(RpkiStatus);
    const caches = await resolveCaches(flags).catch((err: Error) => this.error(err.message, { exit: 2 }));
    const { RtrClient } = await import('../../rpki/index.js');
    const client = new RtrClient({ caches, connectTimeoutMs: flags.timeout * 1000 }).start();
    const deadline = Date.now() + flags.timeout * 1000;
    // Settled: every cache has delivered data or reported a problem; a slow one is shown as it is at the deadline.
    while (Date.now() < deadline && !client.sessions.every((s) => s.table || s.lastError)) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const status = client.status();
    client.stop();
    const active = status.find((s) => s.active)?.cache;
    if (!this.jsonEnabled()) {
      this.log(
        table(
          [
            'CACHE',
            'PREF',
            'STATE',
            'ACTIVE',
            'VERSION',
            'SESSION',
            'SERIAL',
            'VRPS v4/v6',
            'AGE',
            'EXPIRE',
            'LAST ERROR',
          ],
          status.map((s) => [
            s.cache,
            String(s.preference),
            s.state,
            s.active ? 'yes' : 'no',
            String(s.version),
            s.sessionId?.toString() ?? '-',
            s.serial?.toString() ?? '-',
            `${s.vrps.ipv4}/${s.vrps.ipv6}`,
            s.dataAgeSeconds !== undefined ? `${s.dataAgeSeconds}s` : '-',
            `${s.timers.expire}s`,
            s.lastError ? `${s.lastError.direction} ${s.lastError.message}` : '-',
          ]),
        ),
      );
      if (!active) this.logToStderr('error: no RTR cache delivered fresh VRP data');
    }
    if (!active) process.exitCode = 1;
    return { ...(active ? { active } : {}), caches: status };
  }
}
