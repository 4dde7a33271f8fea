// Prints what each channel sends for one sample alert (the `ft alert test --event mitigated` message), as the
// markdown of docs/alerts.md's "What each channel receives": `node --import tsx scripts/render-alert-examples.ts`.
import { parsePolicy } from '../core/policy/index.js';
import { sampleMessage } from '../core/alerts/sample.js';
import { slackBody } from '../plugins/alerts/src/slack.js';
import { discordBody } from '../plugins/alerts/src/discord.js';
import { teamsBody } from '../plugins/alerts/src/teams.js';
import { pagerdutyEvent } from '../plugins/alerts/src/pagerduty.js';
import { opsgenieRequests } from '../plugins/alerts/src/opsgenie.js';
import { telegramBody } from '../plugins/alerts/src/telegram.js';
import { emailContent } from '../plugins/alerts/src/email.js';
import { smsText } from '../plugins/alerts/src/twilio.js';
import { webhookPayload } from '../plugins/alerts/src/webhook.js';
import { grafanaCreate } from '../plugins/alerts/src/grafana.js';
import { datadogBody } from '../plugins/alerts/src/datadog.js';
import { alertmanagerBody } from '../plugins/alerts/src/alertmanager.js';

const policy = parsePolicy(
  `version: 1
tenant: example-isp
protect: [203.0.113.0/24]
targets: [{ name: shop, prefix: 203.0.113.0/26 }]
alerts: { dashboard: "https://noc.example/ft/incidents/{incident}" }
`,
  'example.yaml',
);
const m = { ...sampleMessage(policy, 'mitigated', 'edge-ams1'), test: false };
const json = (v: unknown) => `\`\`\`json\n${JSON.stringify(v, null, 2)}\n\`\`\``;
const out: string[] = [];
const section = (title: string, body: string) => out.push(`#### ${title}\n\n${body}\n`);
section('The message every channel renders (what a generic webhook carries as `data`)', json(m));
section('slack', json(slackBody(m)));
section('discord', json(discordBody(m)));
section('teams', json(teamsBody(m)));
section('pagerduty', json(pagerdutyEvent(m, '<routing key>', 'trigger')));
section(
  'opsgenie / jsm',
  opsgenieRequests(m, { responders: [{ type: 'team', name: 'noc' }], tags: [], acknowledgeOnMitigated: false })
    .map((r) => `\`POST ${r.path}\`\n\n${json(r.body)}`)
    .join('\n\n'),
);
section('telegram', json(telegramBody(m, -1001234567890)));
const mail = emailContent(m, { subjectPrefix: '[ft]', domain: 'edge-ams1.example.net' });
section('email', `Subject: ${mail.subject}\n\n\`\`\`\n${mail.text}\`\`\``);
section('twilio (SMS body)', `\`\`\`\n${smsText(m)}\n\`\`\``);
section(
  'webhook (body; plus webhook-id, webhook-timestamp, webhook-signature headers)',
  json(JSON.parse(webhookPayload(m))),
);
section('grafana', json(grafanaCreate(m, { dashboardUid: 'ddos', tags: [] })));
section('datadog', json(datadogBody(m)));
section('alertmanager', json(alertmanagerBody(m)));
console.log(out.join('\n'));
