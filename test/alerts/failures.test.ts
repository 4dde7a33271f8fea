// Failure paths against local fakes written from each vendor's documented error answers (test/fakes/*): rate limits
// with the vendor's own wait hint, 5xx then success, a refused connection, a server that never answers, and a dead
// hook. Nothing is lost; nothing is sent twice except what the documented at-least-once allows after a restart.
import { createServer } from 'node:net';
import { expect } from 'chai';
import { parsed } from '../fakes/http.js';
import { SLACK_PATH, slackArchived, slackFake, slackRateLimited } from '../fakes/slack.js';
import { DISCORD_PATH, discordFake, discordRateLimited } from '../fakes/discord.js';
import { TEAMS_PATH, TEAMS_QUERY, teamsFake } from '../fakes/teams.js';
import { PD_KEY, pagerdutyFake } from '../fakes/pagerduty.js';
import { TG_TOKEN, telegramFake, telegramTooMany } from '../fakes/telegram.js';
import { WEBHOOK_PATH, WH_SECRET, webhookReceiver } from '../fakes/webhook.js';
import { alertsRegistry, drained, incident, opened, policyText, resolved, runAlerts, tempDir } from './harness.js';
import { parsePolicy } from '../../core/policy/index.js';
import { waitFor } from '../helpers/wait.js';
import { readStatuses } from '../../core/alerts/status.js';

const gap = (a: { firstByteAt: number } | undefined, b: { firstByteAt: number } | undefined) =>
  (b?.firstByteAt ?? 0) - (a?.firstByteAt ?? 0);

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('alerts: failure paths (fakes of each vendor’s documented errors)', function () {
  this.timeout(60_000);

  it('429s are waited out as the vendor says (Retry-After, retry_after seconds), then delivered once', async () => {
    const slack = await slackFake().fail(slackRateLimited(1)).start();
    const discord = await discordFake().fail(discordRateLimited(0.6)).start();
    const tg = await telegramFake().fail(telegramTooMany(1)).start();
    const tmp = tempDir();
    const run = await runAlerts(
      tmp.dir,
      policyText(`  channels:
    s: { channel: slack, url: FT_S }
    d: { channel: discord, url: FT_D }
    t: { channel: telegram, token: FT_T, chatId: -1001234567890, url: "${tg.url}" }`),
      { FT_S: `${slack.url}${SLACK_PATH}`, FT_D: `${discord.url}${DISCORD_PATH}`, FT_T: TG_TOKEN },
    );
    try {
      await run.stream.append([opened(incident())]);
      await Promise.all(
        [slack, discord, tg].map((f) => f.until((x) => x.accepted.length === 1, 'the retry after the 429')),
      );
      await drained(run.host);
      expect(gap(slack.requests[0], slack.requests[1])).to.be.at.least(990);
      expect(gap(discord.requests[0], discord.requests[1])).to.be.at.least(590);
      expect(gap(tg.requests[0], tg.requests[1])).to.be.at.least(990);
      for (const f of [slack, discord, tg]) expect(f.requests, f.name).to.have.length(2);
    } finally {
      await run.stop();
      await Promise.all([slack, discord, tg].map((f) => f.close()));
      tmp.cleanup();
    }
  });

  it('5xx then success, a refused connection, a hanging server: each retried until delivered, nothing lost or doubled', async () => {
    const pd = await pagerdutyFake()
      .fail({ status: 500, body: '{"status":"error"}' }, { status: 503, headers: { 'retry-after': '0' }, body: '' })
      .start();
    const teams = await teamsFake().fail('hang').start();
    const port = await freePort(); // nothing listens there yet: connection refused
    const tmp = tempDir();
    const run = await runAlerts(
      tmp.dir,
      policyText(`  channels:
    pd: { channel: pagerduty, routingKey: FT_PD, url: "${pd.url}" }
    teams: { channel: teams, url: FT_TEAMS, timeout: 1s }
    siem: { channel: webhook, url: "http://127.0.0.1:${port}${WEBHOOK_PATH}", secret: FT_WH, allowPrivate: true }`),
      { FT_PD: PD_KEY, FT_TEAMS: `${teams.url}${TEAMS_PATH}${TEAMS_QUERY}`, FT_WH: WH_SECRET },
    );
    const wh = webhookReceiver();
    try {
      const inc = incident();
      await run.stream.append([opened(inc)]);
      await run.stream.append([resolved(inc)]);
      await pd.until((x) => x.accepted.length === 2, 'trigger and resolve after two 5xx');
      expect(pd.requests).to.have.length(4);
      expect(pd.alerts.get(`ft:lab:${inc.id}`)?.status).to.equal('resolved');
      expect(pd.alerts.get(`ft:lab:${inc.id}`)?.triggers).to.equal(1);
      // The hung request is abandoned at the channel's 1 s timeout and sent again.
      await teams.until((x) => x.accepted.length === 2, 'the two cards after the hang');
      expect(teams.requests).to.have.length(3);
      // The receiver comes up on the refused port: the webhooks arrive, each once, ids kept across the retries.
      const status = await readStatuses(tmp.dir);
      expect(status.get('siem')?.state).to.equal('failing');
      await wh.start(port);
      await wh.until((x) => x.processed.length === 2, 'both webhooks once the receiver is up');
      await drained(run.host);
      expect(wh.processed.map((p) => p.payload.type)).to.deep.equal([
        'alert.incident.opened',
        'alert.incident.resolved',
      ]);
      expect(wh.duplicates).to.have.length(0);
    } finally {
      await run.stop();
      await Promise.all([pd.close(), teams.close(), wh.close().catch(() => undefined)]);
      tmp.cleanup();
    }
  });

  it('a dead hook (410) breaks its channel and alarms the others; after a restart its alerts are sent, the others’ are not repeated', async () => {
    const slack = await slackFake().fail(slackArchived).start();
    const discord = await discordFake().start();
    const tmp = tempDir();
    const policy = policyText(`  channels:
    noc-slack: { channel: slack, url: FT_S }
    noc-discord: { channel: discord, url: FT_D }`);
    const env = { FT_S: `${slack.url}${SLACK_PATH}`, FT_D: `${discord.url}${DISCORD_PATH}` };
    let run = await runAlerts(tmp.dir, policy, env);
    const inc = incident();
    try {
      await run.stream.append([opened(inc)]);
      // Discord hears the incident, then that Slack is broken.
      await discord.until((x) => x.accepted.length === 2, 'the incident and the broken-channel alarm');
      const titles = discord.accepted.map(
        (r) => ((parsed(r).embeds as { title: string }[])[0] as { title: string }).title,
      );
      expect(titles).to.deep.equal(['DDoS udp_flood on 203.0.113.10: opened', 'ft: Alert channel noc-slack is broken']);
      const desc = (
        (parsed(discord.accepted[1] as never).embeds as { description: string }[])[0] as { description: string }
      ).description;
      expect(desc).to.include('410').and.include('channel_is_archived');
      // Broken: no more attempts at the dead hook, whatever comes.
      await run.stream.append([resolved(inc)]);
      await discord.until((x) => x.accepted.length === 3, 'the resolve');
      expect(slack.requests).to.have.length(1);
      expect((await readStatuses(tmp.dir)).get('noc-slack')?.state).to.equal('broken');
    } finally {
      await run.stop();
    }
    // The operator fixes the hook (the fake answers ok again) and restarts. Slack's cursor is still before the
    // incident: the backlog is read as one batch and coalesced into one message that says both (resolved, after
    // being opened at …). Discord, which had everything, gets nothing again but the news that Slack delivers again.
    run = await runAlerts(tmp.dir, policy, env);
    try {
      await slack.until((x) => x.accepted.length === 1, 'the replay of what Slack never got');
      await discord.until((x) => x.accepted.length === 4, 'the channel-ok alarm');
      await drained(run.host);
      const blocks = parsed(slack.accepted[0] as never).blocks as {
        type: string;
        text?: { text: string };
        elements?: { text: string }[];
      }[];
      expect(blocks[0]?.text?.text).to.equal('DDoS udp_flood on 203.0.113.10: resolved');
      expect(JSON.stringify(blocks)).to.include('Also: incident.opened');
      const last = discord.accepted[3] as never;
      expect(((parsed(last).embeds as { title: string }[])[0] as { title: string }).title).to.equal(
        'ft: Alert channel noc-slack delivers again',
      );
      await new Promise((r) => setTimeout(r, 0));
      expect(slack.accepted).to.have.length(1);
      // The status file follows within a second (it is written at most once a second unless the state changes).
      await waitFor(async () => (await readStatuses(tmp.dir)).get('noc-slack')?.delivered === 1, {
        timeoutMs: 30_000,
        what: 'the status to count the delivery',
      });
    } finally {
      await run.stop();
      await Promise.all([slack.close(), discord.close()]);
      tmp.cleanup();
    }
  });

  it('a webhook to a private or loopback address is refused unless the policy allows it (nothing leaves into the box’s own network)', async () => {
    const wh = await webhookReceiver().start();
    const tmp = tempDir();
    const run = await runAlerts(
      tmp.dir,
      policyText(`  channels:
    siem: { channel: webhook, url: "http://localhost:${wh.port}${WEBHOOK_PATH}", secret: FT_WH }`),
      { FT_WH: WH_SECRET },
    );
    try {
      await run.stream.append([opened(incident())]);
      const st = await waitFor(
        async () => {
          const s = (await readStatuses(tmp.dir)).get('siem');
          return s?.state === 'broken' ? s : undefined;
        },
        { timeoutMs: 30_000, what: 'the webhook channel to refuse the address' },
      );
      expect(st?.brokenReason).to.match(/^localhost resolves to (127\.0\.0\.1|::1), a non-public address/);
      expect(wh.requests).to.have.length(0);
      // An address literal is refused by the policy itself, with its position.
      expect(() =>
        parsePolicy(
          policyText(`  channels:\n    siem: { channel: webhook, url: "http://127.0.0.1:9/x", secret: FT_WH }`),
          'p.yaml',
          alertsRegistry(),
        ),
      ).to.throw(/p\.yaml:11:\d+: alerts\.channels\.siem\.url: 127\.0\.0\.1 is a loopback or private address/);
    } finally {
      await run.stop();
      await wh.close();
      tmp.cleanup();
    }
  });
});
