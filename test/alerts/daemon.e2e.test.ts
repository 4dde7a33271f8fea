// A live `ft run` (an l7 detector on an access log the test writes, an on-node rule through the plugin template's
// record-file action) with alert channels: one that never answers (a Slack fake that hangs: ft keeps mitigating),
// a signed webhook, the template's third-party file-log channel and Alertmanager's own API; and Debian's real
// prometheus scraping ft's /metrics with lab/prometheus/ft-rules.yml, firing through the real
// prometheus-alertmanager into a webhook receiver.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { expect } from 'chai';
import { Daemon } from '../helpers/daemon.js';
import { BIN, ROOT, isolatedHome, runFt } from '../helpers/cli.js';
import { freePort } from '../helpers/net.js';
import { waitFor } from '../helpers/wait.js';
import { clfNow } from '../helpers/clf.js';
import { SLACK_PATH, slackFake } from '../fakes/slack.js';
import { parsed } from '../fakes/http.js';
import { WEBHOOK_PATH, WH_SECRET, webhookReceiver } from '../fakes/webhook.js';

class Child {
  output = '';
  readonly exited: Promise<void>;
  constructor(readonly proc: ChildProcess) {
    proc.stdout?.on('data', (d: Buffer) => (this.output = (this.output + d.toString()).slice(-8000)));
    proc.stderr?.on('data', (d: Buffer) => (this.output = (this.output + d.toString()).slice(-8000)));
    this.exited = new Promise((r) => proc.on('exit', () => r()));
  }
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill('SIGTERM');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(t);
  }
}

describe('alerts end to end: a live ft run, a hanging channel, Prometheus rules fired through Alertmanager', function () {
  this.timeout(90_000);
  const env = isolatedHome();
  const dir = env.HOME as string;
  const log = join(dir, 'access.log');
  const rec = join(dir, 'rules.json');
  const alertsFile = join(dir, 'alerts.jsonl');
  const stateDir = join(dir, 'state');
  const slack = slackFake();
  const wh = webhookReceiver();
  const children: Child[] = [];
  const amHits: { alerts: { status: string; labels: Record<string, string> }[] }[] = [];
  let receiver: Server | undefined;
  let daemon: Daemon | undefined;
  let writer: NodeJS.Timeout | undefined;

  after(async () => {
    clearInterval(writer);
    await daemon?.stop(5000);
    for (const c of children) await c.stop();
    await slack.close().catch(() => undefined);
    await wh.close().catch(() => undefined);
    await new Promise<void>((r) => (receiver ? receiver.close(() => r()) : r()));
  });

  it('the NOC hears the attack on every working channel while a hung one holds nothing up, and Prometheus fires FtDdosIncident', async () => {
    // Every Slack request hangs: the channel's 1 s timeout and retries must not touch detection or mitigation.
    slack.fail(...Array.from({ length: 100 }, () => 'hang' as const));
    await Promise.all([slack.start(), wh.start()]);
    const link = await runFt(
      ['plugins', 'link', join(ROOT, 'test', 'fixtures', 'plugin-template'), '--no-install'],
      env,
    );
    expect(link.code, link.stderr).to.equal(0);

    // Alertmanager (real), with a receiver of its webhook notifications.
    const amReceiverPort = await freePort();
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        amHits.push(JSON.parse(body) as (typeof amHits)[number]);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => receiver?.listen(amReceiverPort, '127.0.0.1', () => r()));
    const amPort = await freePort();
    writeFileSync(
      join(dir, 'alertmanager.yml'),
      `route: { receiver: noc, group_by: [alertname], group_wait: 0s, group_interval: 1s, repeat_interval: 1h }
receivers:
  - name: noc
    webhook_configs: [{ url: "http://127.0.0.1:${amReceiverPort}/am", send_resolved: true }]
`,
    );
    children.push(
      new Child(
        spawn(
          'prometheus-alertmanager',
          [
            `--config.file=${join(dir, 'alertmanager.yml')}`,
            `--storage.path=${join(dir, 'am-data')}`,
            `--web.listen-address=127.0.0.1:${amPort}`,
            '--cluster.listen-address=',
          ],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        ),
      ),
    );

    // ft run.
    const metricsPort = await freePort();
    writeFileSync(log, '');
    const policy = join(dir, 'policy.yaml');
    writeFileSync(
      policy,
      `version: 1
tenant: lab
mode: enforce
defaults: { rpki: off, ttl: 5m }
protect: [203.0.113.0/24]
targets: [{ name: shop, prefix: 203.0.113.80/32 }]
detection:
  http: { static: { rps: 200rps } }
  resolve: { after: 2s }
detectors:
  web: { detector: l7, files: [${JSON.stringify(log)}], sites: { shop.example: 203.0.113.80 }, defaultSite: shop.example }
nodeActions:
  host-rec: { adapter: record-file, file: ${JSON.stringify(rec)} }
onNode:
  - when: { family: http_flood }
    do: [ { host-rec: { connlimit: 50 } } ]
alerts:
  channels:
    stuck-slack: { channel: slack, url: FT_SLACK_URL, timeout: 1s }
    siem: { channel: webhook, url: "${wh.url}${WEBHOOK_PATH}", secret: FT_WH_SECRET, allowPrivate: true }
    ops-file: { channel: file-log, file: ${JSON.stringify(alertsFile)} }
    am: { channel: alertmanager, url: "http://127.0.0.1:${amPort}" }
`,
    );
    const valid = await runFt(['policy', 'validate', policy], env);
    expect(valid.code, valid.stdout + valid.stderr).to.equal(0);
    const startFt = () =>
      new Daemon(
        [
          process.execPath,
          BIN,
          'run',
          '-p',
          policy,
          '--state-dir',
          stateDir,
          '--metrics',
          `127.0.0.1:${metricsPort}`,
          '--json',
        ],
        {
          env: { ...env, NO_COLOR: '1', FT_SLACK_URL: `${slack.url}${SLACK_PATH}`, FT_WH_SECRET: WH_SECRET },
          cwd: ROOT,
        },
      );
    daemon = startFt();
    await waitFor(() => daemon?.output.includes('ft run: ') || !daemon?.running, {
      timeoutMs: 30_000,
      what: 'ft run to start',
    });
    expect(daemon.running, daemon.output).to.equal(true);

    // Prometheus (real) scraping that ft every second with the shipped rules.
    writeFileSync(
      join(dir, 'prometheus.yml'),
      `global: { scrape_interval: 1s, evaluation_interval: 1s }
rule_files: [${JSON.stringify(join(ROOT, 'lab', 'prometheus', 'ft-rules.yml'))}]
alerting: { alertmanagers: [{ static_configs: [{ targets: ["127.0.0.1:${amPort}"] }] }] }
scrape_configs: [{ job_name: ft, static_configs: [{ targets: ["127.0.0.1:${metricsPort}"] }] }]
`,
    );
    const promPort = await freePort();
    children.push(
      new Child(
        spawn(
          'prometheus',
          [
            `--config.file=${join(dir, 'prometheus.yml')}`,
            `--storage.tsdb.path=${join(dir, 'prom-data')}`,
            `--web.listen-address=127.0.0.1:${promPort}`,
          ],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        ),
      ),
    );

    // The flood: 100 requests per 100 ms from one client, 1000 requests/s against a 200 rps threshold.
    writer = setInterval(() => {
      const stamp = clfNow();
      appendFileSync(
        log,
        Array.from(
          { length: 100 },
          (_, i) => `198.51.100.66 - - [${stamp}] "GET /login?i=${i} HTTP/1.1" 401 10 "-" "bot/1"\n`,
        ).join(''),
      );
    }, 100);

    await wh.until((x) => x.processed.some((p) => p.payload.type === 'alert.incident.opened'), 'the opened webhook');
    await waitFor(() => existsSync(rec) && Object.keys(JSON.parse(readFileSync(rec, 'utf8')) as object).length > 0, {
      timeoutMs: 20_000,
      what: 'the on-node rule (mitigation) while Slack hangs',
    });
    await wh.until(
      (x) => x.processed.some((p) => p.payload.type === 'alert.incident.mitigated'),
      'the mitigated webhook',
    );
    expect(slack.requests.length, 'Slack was tried').to.be.at.least(1);
    expect(slack.accepted).to.have.length(0);

    // Prometheus → Alertmanager → receiver, from ft's own metrics.
    await waitFor(
      () =>
        amHits.some((h) =>
          h.alerts.some((a) => a.labels.alertname?.startsWith('FtDdosIncident') && a.status === 'firing'),
        ),
      {
        timeoutMs: 45_000,
        what: `Alertmanager to notify FtDdosIncident (${children.map((c) => c.output.slice(-300)).join(' | ')})`,
      },
    );
    const fired = amHits.flatMap((h) => h.alerts).find((a) => a.labels.alertname?.startsWith('FtDdosIncident'));
    expect(fired?.labels.attack_family).to.equal('http_flood');

    // The flood stops: resolved reaches the webhook, the third-party file channel has all three state changes.
    clearInterval(writer);
    await wh.until(
      (x) => x.processed.some((p) => p.payload.type === 'alert.incident.resolved'),
      'the resolved webhook',
    );
    await waitFor(
      () => existsSync(alertsFile) && readFileSync(alertsFile, 'utf8').includes('"kind":"incident.resolved"'),
      { timeoutMs: 30_000, what: 'the file-log channel to have the resolve' },
    );
    const kinds = readFileSync(alertsFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { kind: string }).kind)
      .filter((k) => k.startsWith('incident.'));
    expect(kinds).to.deep.equal(['incident.opened', 'incident.mitigated', 'incident.resolved']);
    expect(wh.duplicates).to.have.length(0);

    // ft alert list, from the status the running ft keeps: the hung channel is failing, the others ok.
    // (The status follows within a second: it is written at most once a second unless the state changes.)
    const byName = await waitFor(
      async () => {
        const list = await runFt(['alert', 'list', '-p', policy, '--state-dir', stateDir, '--json'], env);
        expect(list.code, list.stderr).to.equal(0);
        const channels = (
          JSON.parse(list.stdout) as { channels: { channel: string; state: string; delivered?: number }[] }
        ).channels;
        const m = new Map(channels.map((c) => [c.channel, c]));
        return (m.get('siem')?.delivered ?? 0) >= 3 ? m : undefined;
      },
      { timeoutMs: 20_000, what: 'ft alert list to show the webhook deliveries' },
    );
    expect(byName.get('stuck-slack')?.state).to.equal('failing');
    expect(byName.get('siem')?.state).to.equal('ok');

    // A restart: the worker stored each channel's position at shutdown, so what the webhook had is not sent
    // again, while Slack, which never got anything, is handed its alerts once more (its requests still hang).
    const delivered = wh.processed.length;
    const slackTries = slack.requests.length;
    await daemon.stop(10_000);
    expect(await daemon.exited).to.equal(0);
    daemon = startFt();
    await slack.until((x) => x.requests.length > slackTries, 'Slack to be tried again after the restart');
    const text = (r: (typeof slack.requests)[number]) =>
      (parsed(r).blocks as { text?: { text: string } }[])[0]?.text?.text ?? '';
    expect(text(slack.requests[slack.requests.length - 1] as never)).to.match(/^DDoS http_flood on 203\.0\.113\.80: /);
    expect(wh.processed).to.have.length(delivered);
    expect(wh.duplicates).to.have.length(0);
  });
});
