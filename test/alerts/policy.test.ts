// The `alerts:` policy section: validated with positions like every other section, routes that decide who hears
// what, `ft policy explain` saying so, and `ft alert test` sending a sample through the real path (a Slack fake
// written from Slack's webhook docs).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { PolicyError, explainPolicy, parsePolicy } from '../../core/policy/index.js';
import { channelHears } from '../../core/alerts/routes.js';
import { MessageBuilder } from '../../core/alerts/message.js';
import { messageContext } from '../../core/alerts/host.js';
import { encodeEvent, type FtEvent } from '@ft/sdk';
import { isolatedHome, runFt } from '../helpers/cli.js';
import { parsed } from '../fakes/http.js';
import { SLACK_PATH, slackArchived, slackFake } from '../fakes/slack.js';
import { alertsRegistry, incident, policyText } from './harness.js';

function issues(text: string): string[] {
  try {
    parsePolicy(text, 'p.yaml', alertsRegistry());
  } catch (err) {
    if (err instanceof PolicyError) return err.issues.map((i) => `${i.line}:${i.column} ${i.path}: ${i.message}`);
    throw err;
  }
  return [];
}

describe('alerts policy section', () => {
  it('names every problem with its line and column: a pasted URL, a kind typo, a bad option, a route to nowhere', () => {
    // The schema pass first (a typo in an alert kind)...
    expect(
      issues(
        policyText(`  channels:
    noc: { channel: slack, url: FT_SLACK }
  routes:
    - { to: noc, events: [incident.opend] }`),
      ),
    ).to.match(/^13:\d+ alerts\.routes\[0\]\.events\[0\]: expected incident, operational or an alert kind/);
    // ...then references and each channel kind's own options, all reported at once.
    const got = issues(
      policyText(`  channels:
    noc: { channel: slack, url: "https://hooks.slack.com/services/T1/B2/abc" }
    pd: { channel: pagerduti, routingKey: FT_PD }
    tg: { channel: telegram, token: FT_TG, chatId: "not a chat" }
  routes:
    - { to: [noc, nocc], severity: high }`),
    );
    expect(got).to.have.length(4);
    expect(got[0]).to.match(
      /^11:\d+ alerts\.channels\.noc\.url: name the environment variable that holds it \(webhook URLs and keys are secrets/,
    );
    expect(got[1]).to.match(
      /^12:\d+ alerts\.channels\.pd\.channel: no installed alert channel kind "pagerduti": did you mean "pagerduty"\?$/,
    );
    expect(got[2]).to.match(/^13:\d+ alerts\.channels\.tg\.chatId/);
    expect(got[3]).to.match(
      /^15:\d+ alerts\.routes\[0\]\.to\[1\]: no channel "nocc" under alerts\.channels: did you mean "noc"\?$/,
    );
  });

  it('routes by severity, family, target prefix, tenant, POP and kind; explain says who hears what', () => {
    const policy = parsePolicy(
      policyText(`  channels:
    noc: { channel: slack, url: FT_SLACK }
    pager: { channel: pagerduty, routingKey: FT_PD }
    shop-team: { channel: discord, url: FT_DISCORD }
    idle: { channel: teams, url: FT_TEAMS }
  routes:
    - { to: noc }
    - { to: pager, severity: critical, events: [incident.opened, incident.resolved] }
    - { to: shop-team, target: 203.0.113.0/26, family: [udp_flood, syn_flood], pop: ams1 }`),
      'p.yaml',
      alertsRegistry(),
    );
    const b = new MessageBuilder(messageContext(policy));
    let seq = 0;
    const ev = (type: string, data: unknown) =>
      encodeEvent({ seq: ++seq, id: `e${seq}`, at: Date.now(), tenant: 'lab', node: 'edge-1', type, data } as FtEvent);
    const hears = (name: string, e: ReturnType<typeof ev>) =>
      b.build(e).some((x) => channelHears(policy.alerts, name, x.message));
    const high = incident('203.0.113.10');
    const crit = incident('198.51.100.7', { severity: 'critical' });
    const openHigh = ev('incident.opened', { incident: high });
    expect(['noc', 'pager', 'shop-team', 'idle'].filter((c) => hears(c, openHigh))).to.deep.equal(['noc']);
    const openCrit = ev('incident.opened', { incident: crit });
    expect(['noc', 'pager', 'shop-team'].filter((c) => hears(c, openCrit))).to.deep.equal(['noc', 'pager']);
    // The shop team hears its own prefix once a rule at its POP mitigates it.
    const mitigated = ev('rule.added', {
      ruleId: 'r1',
      kind: 'rtbh',
      target: high.target,
      level: 3,
      action: 'announce',
      via: ['edge'],
      pops: ['ams1'],
      incidentId: high.id,
      outcome: 'ok',
      expiresAt: Date.now(),
      results: [],
      durationMs: 1,
      rule: {
        id: 'r1',
        kind: 'rtbh',
        tenant: 'lab',
        target: high.target,
        level: 3,
        ttlSeconds: 60,
        communities: ['65535:666'],
        noExport: true,
      },
    });
    expect(['noc', 'shop-team'].filter((c) => hears(c, mitigated))).to.deep.equal(['noc', 'shop-team']);
    const down = ev('speaker.down', { speaker: 'edge', status: 'down', pop: 'ams1' });
    expect(['noc', 'pager', 'shop-team'].filter((c) => hears(c, down))).to.deep.equal(['noc']);

    const e = explainPolicy(policy);
    expect(e.text).to.include('alerts: 4 channel(s)');
    expect(e.text).to.include(
      '  pager (pagerduty) hears incident.opened, incident.resolved when severity >= critical (route 1)',
    );
    expect(e.text).to.include(
      '  shop-team (discord) hears every alert when family udp_flood|syn_flood and target in 203.0.113.0/26 and POP ams1 (route 2)',
    );
    expect(e.text).to.include('  idle (teams) hears nothing');
    expect(policy.warnings).to.include('alerts.channels.idle is in no route under alerts.routes: it hears nothing');
  });
});

describe('ft alert test / ft alert list', function () {
  this.timeout(60_000);
  const env = isolatedHome();
  const slack = slackFake();
  before(() => slack.start());
  after(() => slack.close());

  it('sends a [TEST] sample through the real path, and says so when the hook is dead', async () => {
    const policy = join(env.HOME as string, 'policy.yaml');
    writeFileSync(policy, policyText(`  channels:\n    noc: { channel: slack, url: FT_SLACK_URL }`));
    const withUrl = { ...env, FT_SLACK_URL: `${slack.url}${SLACK_PATH}` };
    const ok = await runFt(['alert', 'test', 'noc', '-p', policy, '--event', 'mitigated'], withUrl);
    expect(ok.code, ok.stderr).to.equal(0);
    expect(ok.stdout).to.match(
      /^noc \(slack, 127\.0\.0\.1:\d+ \(incoming webhook; URL from FT_SLACK_URL\)\): delivered "DDoS udp_flood on 203\.0\.113\.10: mitigated at level 1"/,
    );
    const header = (parsed(slack.accepted[0] as never).blocks as { text: { text: string } }[])[0]?.text.text;
    expect(header).to.equal('[TEST] DDoS udp_flood on 203.0.113.10: mitigated at level 1');
    // The URL (a secret) never reaches the output.
    expect(ok.stdout + ok.stderr).to.not.include(SLACK_PATH);

    slack.fail(slackArchived);
    const dead = await runFt(['alert', 'test', 'noc', '-p', policy, '--json'], withUrl);
    expect(dead.code).to.equal(1);
    expect(JSON.parse(dead.stdout)).to.deep.include({
      channel: 'noc',
      result: 'dead',
      reason: 'HTTP 410: channel_is_archived',
    });

    const missing = await runFt(['alert', 'test', 'noc', '-p', policy], env);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.include('FT_E_ALERT_SETUP');
    expect(missing.stderr.replace(/\s*\n\s*›?\s*/g, ' ')).to.include(
      'the credential FT_SLACK_URL is not set in the environment',
    );

    const list = await runFt(['alert', 'list', '-p', policy, '--state-dir', join(env.HOME as string, 'state')], env);
    expect(list.code, list.stderr).to.equal(0);
    expect(list.stdout).to.match(/^noc\s+slack\s+never ran/m);
  });
});
