// The local receivers of the alerts benchmark, in a process of their own (so their work does not share ft's event
// loop): every vendor fake of test/fakes plus a real SMTP server (npm smtp-server). Prints one JSON line with their
// addresses; on "dump" on stdin prints, per receiver, when the first byte of each request arrived (epoch ms with
// sub-ms precision, comparable across processes) and which attacked addresses its body names.
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import { SMTPServer } from 'smtp-server';
import type { FakeServer } from '../../test/fakes/http.js';
import { slackFake } from '../../test/fakes/slack.js';
import { discordFake } from '../../test/fakes/discord.js';
import { teamsFake } from '../../test/fakes/teams.js';
import { pagerdutyFake } from '../../test/fakes/pagerduty.js';
import { opsgenieFake } from '../../test/fakes/opsgenie.js';
import { telegramFake } from '../../test/fakes/telegram.js';
import { twilioFake } from '../../test/fakes/twilio.js';
import { grafanaFake } from '../../test/fakes/grafana.js';
import { datadogFake } from '../../test/fakes/datadog.js';
import { webhookReceiver } from '../../test/fakes/webhook.js';

const epoch = (perfNow: number) => performance.timeOrigin + perfNow;
// Each benchmark incident attacks its own address: the receivers find it in whatever form the vendor takes.
const ID = /203\.0\.113\.\d{1,3}(?![\d/])/g;

const fakes: Record<string, FakeServer> = {
  slack: slackFake(),
  discord: discordFake(),
  teams: teamsFake(),
  pagerduty: pagerdutyFake(),
  opsgenie: opsgenieFake(),
  telegram: telegramFake(),
  twilio: twilioFake(),
  grafana: grafanaFake(),
  datadog: datadogFake(),
  webhook: webhookReceiver(),
};
await Promise.all(Object.values(fakes).map((f) => f.start()));

// Alertmanager's /api/v2/alerts answers 200 with an empty body.
const amHits: { at: number; ids: string[] }[] = [];
const am = createServer((req, res) => {
  const at = epoch(performance.now());
  let body = '';
  req.on('data', (c: Buffer) => (body += c.toString()));
  req.on('end', () => {
    if (req.method === 'POST' && req.url === '/api/v2/alerts') amHits.push({ at, ids: body.match(ID) ?? [] });
    res.writeHead(200).end();
  });
});
await new Promise<void>((r) => am.listen(0, '127.0.0.1', () => r()));

// SMTP: the first byte of each message's DATA.
const mailHits: { at: number; ids: string[] }[] = [];
const smtp = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  logger: false,
  onData(stream, _s, cb) {
    let at = 0;
    let body = '';
    stream.on('data', (c: Buffer) => {
      at ||= epoch(performance.now());
      body += c.toString();
    });
    stream.on('end', () => {
      mailHits.push({ at, ids: body.match(ID) ?? [] });
      cb();
    });
  },
});
await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', () => r()));

console.log(
  JSON.stringify({
    ...Object.fromEntries(Object.entries(fakes).map(([k, f]) => [k, f.port])),
    alertmanager: (am.address() as { port: number }).port,
    email: (smtp.server.address() as { port: number }).port,
  }),
);

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() !== 'dump') return;
  const out: Record<string, { at: number; ids: string[] }[]> = {
    alertmanager: amHits,
    email: mailHits,
  };
  for (const [k, f] of Object.entries(fakes))
    out[k] = f.requests.map((r) => ({ at: epoch(r.firstByteAt), ids: `${r.path} ${r.body}`.match(ID) ?? [] }));
  console.log(JSON.stringify(out));
});
process.on('SIGTERM', () => process.exit(0));
