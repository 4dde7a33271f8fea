import { definePlugin } from '@ft/sdk';
import { alertmanager } from './alertmanager.js';
import { datadog } from './datadog.js';
import { discord } from './discord.js';
import { email } from './email.js';
import { grafana } from './grafana.js';
import { opsgenie } from './opsgenie.js';
import { pagerduty } from './pagerduty.js';
import { slack } from './slack.js';
import { teams } from './teams.js';
import { telegram } from './telegram.js';
import { twilio } from './twilio.js';
import { webhook } from './webhook.js';

// Every channel ft ships (docs/alerts.md). A third party adds one the same way: ft.alertChannel(defineAlertChannel(...)).
export default definePlugin((ft) => {
  for (const c of [
    slack,
    discord,
    teams,
    pagerduty,
    opsgenie,
    telegram,
    email,
    twilio,
    webhook,
    grafana,
    datadog,
    alertmanager,
  ])
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- each factory has its own config type
    ft.alertChannel(c as never);
});
