import { Flags } from '@oclif/core';
import { FtCommand } from '../cli/command.js';
import type { FtEvent, WireEvent } from '@ft/sdk';

export default class Events extends FtCommand {
  static override summary =
    'Print the event stream: incidents, rule changes, operator actions, speakers, RPKI; --follow tails it.';
  static override description =
    'Every incident and rule transition ft makes is an event with a sequence number, written durably before anyone is told ' +
    '(docs/events.md lists every type and field). Reads the event journal under --state-dir beside a running `ft run`, or with ' +
    '--redis (or FT_REDIS_URL) the fleet-wide stream. --json prints the wire form subscribers and the API get: with --follow one JSON ' +
    'object per line (NDJSON), otherwise {"events": [...]}. Without --since, --follow starts with what comes next.';
  static override enableJsonFlag = true;
  static override flags = {
    follow: Flags.boolean({ char: 'f', summary: 'Keep printing new events as they are written (until interrupted).' }),
    since: Flags.string({
      summary:
        'Start at this sequence number, or at this time: a duration back from now (30m, 2h, 7d) or an ISO 8601 time.',
    }),
    type: Flags.string({
      summary: 'Only events of this type (repeatable); "rule.*" matches a whole group.',
      multiple: true,
    }),
    'state-dir': Flags.string({ summary: 'State directory (default: as `ft run`).' }),
    redis: Flags.string({
      summary: 'Read the fleet-wide event stream on this Redis instead (password in the URL or FT_REDIS_PASSWORD).',
      env: 'FT_REDIS_URL',
    }),
    'redis-namespace': Flags.string({ summary: 'Redis key namespace of the fleet deployment.', default: 'ft' }),
  };
  static override examples = [
    '<%= config.bin %> events --follow',
    '<%= config.bin %> events --since 1h --type incident.* --type rule.refused',
    '<%= config.bin %> events --since 1200 --json',
    '<%= config.bin %> events --follow --json --redis redis://10.0.0.5:6379',
  ];

  async run(): Promise<{ events: WireEvent[] } | undefined> {
    const { flags } = await this.parse(Events);
    const { defaultStateDir, StateDirError, JournalCorruptError } = await import('../state/index.js');
    const { openJournalReader, openRedisReader } = await import('../events/read.js');
    const { EVENT_TYPES, encodeEvent, parseDuration } = await import('@ft/sdk');
    const { formatEventLine } = await import('../events/format.js');

    const wanted = flags.type?.flatMap((t) => {
      const hits = t.endsWith('.*')
        ? EVENT_TYPES.filter((e) => e.startsWith(t.slice(0, -1)))
        : EVENT_TYPES.filter((e) => e === t);
      if (hits.length === 0)
        this.error(`--type ${t}: no such event type (types: ${EVENT_TYPES.join(', ')}; or a group like rule.*)`, {
          exit: 2,
        });
      return hits;
    });
    const typeSet = wanted ? new Set<string>(wanted) : undefined;

    let sinceSeq: number | undefined;
    let sinceMs: number | undefined;
    if (flags.since !== undefined) {
      if (/^\d+$/.test(flags.since)) sinceSeq = Math.max(1, Number(flags.since));
      else if (/^\d{4}-\d{2}-\d{2}/.test(flags.since)) sinceMs = Date.parse(flags.since);
      else {
        try {
          sinceMs = Date.now() - parseDuration(flags.since) * 1000;
        } catch {
          this.error(
            `--since ${flags.since}: expected a sequence number, a duration (30m, 2h, 7d) or an ISO 8601 time`,
            {
              exit: 2,
            },
          );
        }
      }
      if (sinceMs !== undefined && Number.isNaN(sinceMs))
        this.error(`--since ${flags.since}: not a valid time`, { exit: 2 });
    }

    const dir = flags['state-dir'] ?? defaultStateDir();
    let reader;
    try {
      if (flags.redis) reader = await openRedisReader(flags.redis, flags['redis-namespace']);
      else {
        if (flags.follow) await waitForDir(dir);
        reader = await openJournalReader(dir);
      }
    } catch (err) {
      const { RedisUrlError } = await import('../state/redis/connect.js');
      const { FleetNameError } = await import('../fleet/names.js');
      if (err instanceof RedisUrlError || err instanceof FleetNameError) throw err; // reported with its FT_E_ code by FtCommand
      if (err instanceof StateDirError && !flags.follow && /does not exist/.test(err.message)) {
        if (!this.jsonEnabled()) this.log(`No events (nothing recorded in ${dir} yet).`);
        return { events: [] };
      }
      if (err instanceof StateDirError || err instanceof JournalCorruptError) throw err; // reported with its FT_E_ code by FtCommand
      throw err;
    }

    const keep = (e: FtEvent) => (!typeSet || typeSet.has(e.type)) && (sinceMs === undefined || e.at >= sinceMs);
    const json = this.jsonEnabled();
    try {
      const { FleetReadError } = await import('../fleet/daemon.js');
      const from = async () =>
        sinceSeq ??
        (sinceMs !== undefined
          ? await reader.source.seqAt(sinceMs)
          : flags.follow
            ? (await reader.source.lastSeq()) + 1
            : 1);
      try {
        if (flags.follow) {
          const controller = new AbortController();
          const stop = () => controller.abort();
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
          try {
            await reader.follow(
              await from(),
              (events, lost) => {
                if (lost)
                  process.stderr.write(
                    `ft events: ${lost.count} events (${lost.fromSeq}-${lost.toSeq}) were removed by retention before they could be read\n`,
                  );
                const out = events
                  .filter(keep)
                  .map((e) => (json ? JSON.stringify(encodeEvent(e)) : formatEventLine(e)))
                  .join('\n');
                if (out) process.stdout.write(`${out}\n`);
              },
              controller.signal,
            );
          } finally {
            process.off('SIGINT', stop);
            process.off('SIGTERM', stop);
          }
          return undefined;
        }
        const { readForward } = await import('../events/log.js');
        const events: FtEvent[] = [];
        for await (const r of readForward(reader.source, await from())) events.push(...r.events.filter(keep));
        if (!json) {
          if (events.length === 0) this.log('No events match.');
          else for (const e of events) this.log(formatEventLine(e));
        }
        return { events: events.map(encodeEvent) };
      } catch (err) {
        if (err instanceof FleetReadError) throw err; // reported with its FT_E_ code by FtCommand
        throw err;
      }
    } finally {
      await reader.close();
    }
  }
}

/** `--follow` started before `ft run` ever ran there: wait for the directory instead of failing. */
async function waitForDir(dir: string): Promise<void> {
  const { stat } = await import('node:fs/promises');
  for (;;) {
    const ok = await stat(dir).then(
      (s) => s.isDirectory(),
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 500));
  }
}
