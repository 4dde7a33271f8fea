// Every HTTP channel against a local fake that follows that vendor's documented API (test/fakes/*: each file names
// the documentation it was written from; no vendor service can run here). The events go through the real event
// stream and the real alerts host, as in `ft run`.
import { expect } from 'chai';
import { Webhook } from 'standardwebhooks';
import { FakeServer, parsed } from '../fakes/http.js';
import { SLACK_PATH, slackFake } from '../fakes/slack.js';
import { DISCORD_PATH, discordFake } from '../fakes/discord.js';
import { TEAMS_PATH, TEAMS_QUERY, teamsFake } from '../fakes/teams.js';
import { PD_KEY, pagerdutyFake } from '../fakes/pagerduty.js';
import { OG_KEY, opsgenieFake } from '../fakes/opsgenie.js';
import { TG_TOKEN, telegramFake, telegramHtmlProblem } from '../fakes/telegram.js';
import { TW_SID, TW_TOKEN, twilioFake } from '../fakes/twilio.js';
import { GRAFANA_TOKEN, grafanaFake } from '../fakes/grafana.js';
import { DD_KEY, datadogFake } from '../fakes/datadog.js';
import { WEBHOOK_PATH, WH_SECRET, webhookReceiver } from '../fakes/webhook.js';
import {
  drained,
  incident,
  opened,
  policyText,
  resolved,
  ruleAdded,
  runAlerts,
  tempDir,
  type Running,
} from './harness.js';

describe('alerts: every channel, in its vendor’s own form (local fakes written from each vendor’s API docs)', function () {
  this.timeout(60_000);
  const slack = slackFake();
  const discord = discordFake();
  const teams = teamsFake();
  const pd = pagerdutyFake();
  const og = opsgenieFake('/jsm/ops/integration');
  const tg = telegramFake();
  const tw = twilioFake();
  const gf = grafanaFake();
  const dd = datadogFake();
  const wh = webhookReceiver();
  const fakes: FakeServer[] = [slack, discord, teams, pd, og, tg, tw, gf, dd, wh];
  const tmp = tempDir();
  let run: Running;

  before(async () => {
    await Promise.all(fakes.map((f) => f.start()));
    const env = {
      FT_SLACK_URL: `${slack.url}${SLACK_PATH}`,
      FT_DISCORD_URL: `${discord.url}${DISCORD_PATH}`,
      FT_TEAMS_URL: `${teams.url}${TEAMS_PATH}${TEAMS_QUERY}`,
      FT_PD_KEY: PD_KEY,
      FT_JSM_KEY: OG_KEY,
      FT_TG_TOKEN: TG_TOKEN,
      FT_TWILIO_TOKEN: TW_TOKEN,
      FT_GRAFANA_TOKEN: GRAFANA_TOKEN,
      FT_DD_KEY: DD_KEY,
      FT_WH_SECRET: WH_SECRET,
    };
    const policy = policyText(`  dashboard: https://noc.example/ft/incidents/{incident}
  channels:
    noc-slack: { channel: slack, url: FT_SLACK_URL }
    noc-discord: { channel: discord, url: FT_DISCORD_URL }
    noc-teams: { channel: teams, url: FT_TEAMS_URL }
    oncall-pd: { channel: pagerduty, routingKey: FT_PD_KEY, url: "${pd.url}", acknowledgeOnMitigated: true }
    oncall-jsm: { channel: opsgenie, apiKey: FT_JSM_KEY, api: jsm, url: "${og.url}/jsm/ops/integration", responders: [{ type: team, name: noc }] }
    noc-telegram: { channel: telegram, token: FT_TG_TOKEN, chatId: -1001234567890, url: "${tg.url}" }
    oncall-sms: { channel: twilio, accountSid: ${TW_SID}, authToken: FT_TWILIO_TOKEN, from: "+15005550006", to: ["+15551230001", "+15551230002"], url: "${tw.url}" }
    grafana: { channel: grafana, url: "${gf.url}", token: FT_GRAFANA_TOKEN, dashboardUid: ddos }
    datadog: { channel: datadog, apiKey: FT_DD_KEY, url: "${dd.url}" }
    siem: { channel: webhook, url: "${wh.url}${WEBHOOK_PATH}", secret: FT_WH_SECRET, allowPrivate: true }`);
    run = await runAlerts(tmp.dir, policy, env);
  });
  after(async () => {
    await run?.stop();
    await Promise.all(fakes.map((f) => f.close()));
    tmp.cleanup();
  });

  it('opened, mitigated and resolved: one message per state change on every channel, each accepted by its service', async () => {
    const inc = incident('203.0.113.10');
    await run.stream.append([opened(inc)]);
    // Every channel has the opened message before anything else happens (the NOC hears first).
    await Promise.all(
      fakes.filter((f) => f !== tw).map((f) => f.until((x) => x.accepted.length >= 1, 'the opened alert')),
    );
    await tw.until((x) => x.accepted.length >= 2, 'one SMS per number');
    // Two rules at level 1 in one batch: one "mitigated" message, not two.
    await run.stream.append([ruleAdded(inc, 1, 'flowspec'), ruleAdded(inc, 1, 'rtbh')]);
    await run.stream.append([resolved(inc)]);
    await Promise.all(
      fakes
        .filter((f) => f !== tw && f !== gf)
        .map((f) => f.until((x) => x.accepted.length >= 3, 'opened, mitigated, resolved')),
    );
    await drained(run.host);

    // Slack: Block Kit; the service answered `ok` to each (the fake checks the documented block limits).
    expect(slack.requests.map((r) => r.body).every((b) => b.includes('"blocks"'))).to.equal(true);
    expect(slack.accepted).to.have.length(3);
    const [s0, s1, s2] = slack.accepted.map(parsed) as {
      blocks: { type: string; text?: { text: string }; fields?: { text: string }[] }[];
    }[];
    expect(s0?.blocks[0]?.text?.text).to.equal('DDoS udp_flood on 203.0.113.10: opened');
    expect(s1?.blocks[0]?.text?.text).to.equal('DDoS udp_flood on 203.0.113.10: mitigated at level 1');
    expect(s2?.blocks[0]?.text?.text).to.equal('DDoS udp_flood on 203.0.113.10: resolved');
    const fields = s0?.blocks.flatMap((b) => b.fields ?? []).map((f) => f.text) ?? [];
    expect(fields).to.include('*Target*\n203.0.113.10');
    expect(fields).to.include('*Customer*\nshop in 203.0.113.0/24');
    expect(fields.some((f) => f.startsWith('*Peak*\n892,401 pps'))).to.equal(true);
    expect(fields.some((f) => f.startsWith('*Sources*\n14,200; top 198.51.100.23'))).to.equal(true);
    const actions = s1?.blocks.flatMap((b) => b.fields ?? []).find((f) => f.text.startsWith('*Actions*'));
    expect(actions?.text).to.include('rate-limit 6250000 bytes/s (50 Mbps) via edge-gobgp');
    expect(JSON.stringify(s0)).to.include(`https://noc.example/ft/incidents/${inc.id}`);

    // Discord: wait=true (200 with the saved message), mentions disabled so no attacker string pings anyone.
    expect(discord.requests[0]?.url.searchParams.get('wait')).to.equal('true');
    for (const r of discord.accepted) expect(parsed(r).allowed_mentions).to.deep.equal({ parse: [] });
    const embed = (parsed(discord.accepted[0] as never).embeds as Record<string, unknown>[])[0] as Record<
      string,
      unknown
    >;
    expect(embed.title).to.equal('DDoS udp_flood on 203.0.113.10: opened');
    expect(embed.url).to.equal(`https://noc.example/ft/incidents/${inc.id}`);

    // Teams: a Workflows message with one Adaptive Card 1.4, answered 202.
    const card = (
      parsed(teams.accepted[0] as never).attachments as { content: { version: string; body: { type: string }[] } }[]
    )[0];
    expect(card?.content.version).to.equal('1.4');
    expect(card?.content.body.map((b) => b.type)).to.include('FactSet');

    // PagerDuty: one alert for the incident (deterministic dedup_key): triggered, acknowledged once ft mitigated
    // it (acknowledgeOnMitigated), resolved.
    expect(pd.accepted.map((r) => parsed(r).event_action)).to.deep.equal([
      'trigger',
      'trigger',
      'acknowledge',
      'resolve',
    ]);
    expect(new Set(pd.accepted.map((r) => parsed(r).dedup_key))).to.have.property('size', 1);
    const alert = pd.alerts.get(`ft:lab:${inc.id}`);
    expect(alert, JSON.stringify([...pd.alerts.keys()])).to.not.equal(undefined);
    expect(alert?.status).to.equal('resolved');
    expect(alert?.triggers).to.equal(2);
    expect(pd.alerts.size).to.equal(1);

    // Jira Service Management (Opsgenie's API): created by alias, a note for the mitigation, closed on resolve.
    const ogAlert = og.alerts.get(`ft:lab:${inc.id}`);
    expect(ogAlert?.status).to.equal('closed');
    expect(ogAlert?.priority).to.equal('P2');
    expect(ogAlert?.notes).to.have.length(1);
    expect(ogAlert?.notes[0]).to.include('mitigated at level 1');

    // Telegram: HTML that Telegram's parser accepts.
    for (const r of tg.accepted) expect(telegramHtmlProblem(String(parsed(r).text))).to.equal(undefined);
    expect(String(parsed(tg.accepted[0] as never).text)).to.match(/^<b>DDoS udp_flood on 203\.0\.113\.10: opened<\/b>/);

    // Twilio: one SMS per number per state change, each one segment or two.
    expect(tw.accepted).to.have.length(6);
    for (const r of tw.accepted) expect((new URLSearchParams(r.body).get('Body') ?? '').length).to.be.at.most(320);

    // Grafana: the incident is one region annotation, from its start to its resolve, tagged with its id.
    expect(gf.annotations.size).to.equal(1);
    const ann = [...gf.annotations.values()][0];
    expect(ann?.time).to.equal(inc.startedAt);
    expect(ann?.timeEnd).to.be.a('number').and.to.be.at.least(inc.startedAt);
    expect(ann?.tags).to.include(`incident:${inc.id}`);
    expect(ann?.dashboardUID).to.equal('ddos');

    // Datadog: three events with one aggregation_key; the last one's status is ok (resolved).
    const ddBodies = dd.accepted.map(
      (r) =>
        (
          parsed(r).data as {
            attributes: { aggregation_key: string; attributes: { status: string; priority: string } };
          }
        ).attributes,
    );
    expect(new Set(ddBodies.map((b) => b.aggregation_key))).to.have.property('size', 1);
    expect(ddBodies.map((b) => b.attributes.status)).to.deep.equal(['error', 'error', 'ok']);
    expect(ddBodies[0]?.attributes.priority).to.equal('2');

    // Standard Webhooks: verified by the standardwebhooks library in the receiver; types per state change.
    expect(wh.processed.map((p) => p.payload.type)).to.deep.equal([
      'alert.incident.opened',
      'alert.incident.mitigated',
      'alert.incident.resolved',
    ]);
    expect(wh.duplicates).to.have.length(0);
  });

  it('a webhook signed during a key rotation verifies with the old key and with the new one', async () => {
    const { webhookHeaders } = await import('../../plugins/alerts/src/webhook.js');
    const { WH_OLD_SECRET } = await import('../fakes/webhook.js');
    const body = JSON.stringify({ type: 'alert.incident.opened', timestamp: new Date().toISOString(), data: {} });
    const h = webhookHeaders([WH_SECRET, WH_OLD_SECRET], 'ft-4b1d0c2e', body);
    expect(h['webhook-signature']?.split(' ')).to.have.length(2);
    for (const key of [WH_SECRET, WH_OLD_SECRET]) expect(() => new Webhook(key).verify(body, h)).to.not.throw();
    const other = `whsec_${Buffer.from('another-key-another-key-1234').toString('base64')}`;
    expect(() => new Webhook(other).verify(body, h)).to.throw();
  });
});
