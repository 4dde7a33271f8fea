// The HTTP sinks against local servers that follow each vendor's documented API (test/fakes/: Splunk HEC codes and
// indexer acknowledgement, Elasticsearch _bulk per-item answers and X-Elastic-Product, Entra + Logs Ingestion
// 204/413/429, Datadog logs intake, MISP events and objects): each fake's file names the documentation it follows.
import { expect } from 'chai';
import { draft, readForward } from '../../core/events/index.js';
import type { EventStream } from '../../core/events/index.js';
import { json } from '../fakes/http.js';
import { bulkOutcome } from '../../plugins/export/src/sinks/elasticsearch.js';
import { HEC_TOKEN, HecFake } from '../fakes/splunk-hec.js';
import { ES_API_KEY, ElasticFake } from '../fakes/elasticsearch.js';
import { SENTINEL, SentinelFake } from '../fakes/sentinel.js';
import { DD_LOGS_KEY, DatadogLogsFake } from '../fakes/datadog-logs.js';
import { MISP_KEY, MispFake } from '../fakes/misp.js';
import { waitFor } from '../helpers/wait.js';
import { drained, incident, opened, ruleRefused, runExport, speakerDown, tempDir, trafficSummary } from './harness.js';

async function eventsOf(stream: EventStream, type: string) {
  const out: Record<string, unknown>[] = [];
  for await (const b of readForward(stream.source)) for (const e of b.events) if (e.type === type) out.push(e.data);
  return out;
}

describe('export: HTTP sinks against documented-API fakes', function () {
  this.timeout(60_000);
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.cleanup());

  it('Splunk HEC: one request per batch of concatenated events, sourcetype per category, indexer ack on a channel; code 9 retried, code 6 dropped and alarmed', async () => {
    const hec = await new HecFake().start();
    hec.ack = true;
    const run = await runExport(
      tmp.dir,
      `  sinks:\n    splunk: { sink: splunk-hec, url: '${hec.url}', token: HEC_TOKEN, index: netsec, ack: true }\n`,
      { HEC_TOKEN },
    );
    try {
      const i = incident();
      hec.fail(json(503, { text: 'Server is busy', code: 9 }));
      await run.stream.append([opened(i), ruleRefused(i), trafficSummary(), speakerDown()]);
      await drained(run.host);
      expect(hec.events.map((e) => e.sourcetype)).to.deep.equal([
        'ft:incident',
        'ft:rule',
        'ft:traffic',
        'ft:traffic',
        'ft:operational',
      ]);
      expect(hec.events[0]?.index).to.equal('netsec');
      expect(hec.events[1]?.fields?.rail).to.equal('never-target');
      const posts = hec.requests.filter((r) => r.path === '/services/collector/event');
      expect(posts.length).to.equal(2); // the 503, then the whole batch again
      expect(
        posts.every((r) => r.headers['x-splunk-request-channel'] === posts[0]?.headers['x-splunk-request-channel']),
      ).to.equal(true);
      expect(hec.requests.some((r) => r.path === '/services/collector/ack')).to.equal(true);
      // A batch Splunk says is malformed (an ft bug) is dropped, counted and told on the stream; the next goes.
      hec.fail(json(400, { text: 'Invalid data format', code: 6 }));
      await run.stream.append([speakerDown('a')]);
      await drained(run.host);
      await run.stream.append([speakerDown('b')]);
      await drained(run.host);
      expect(run.host.stats()[0]?.dropped.rejected).to.equal(1);
      const dropped = await waitFor(() =>
        eventsOf(run.stream, 'export.dropped').then((x) => (x.length ? x : undefined)),
      );
      expect(dropped[0]?.reason).to.equal('rejected');
      expect(hec.events.at(-1)?.event.message).to.contain('speaker b');
    } finally {
      await run.stop();
      await hec.close();
    }
  });

  it('Splunk HEC: an invalid token (403 code 4) marks the sink broken, alarmed; it tries again and delivers once the token works', async () => {
    const hec = await new HecFake().start();
    const run = await runExport(
      tmp.dir,
      `  sinks:\n    splunk: { sink: splunk-hec, url: '${hec.url}', token: HEC_TOKEN, maxBackoff: 1s }\n`,
      { HEC_TOKEN },
      { retry: { baseMs: 50, maxMs: 100 } },
    );
    try {
      hec.fail(json(403, { text: 'Invalid token', code: 4 }));
      await run.stream.append([speakerDown()]);
      const down = await waitFor(() =>
        eventsOf(run.stream, 'export.sink_down').then((x) => (x.length ? x : undefined)),
      );
      expect(down[0]?.state).to.equal('broken');
      await drained(run.host);
      expect(hec.events.map((e) => (e.event as { type: string }).type)).to.include('speaker.down');
      await waitFor(() => eventsOf(run.stream, 'export.sink_ok').then((x) => x.length > 0));
    } finally {
      await run.stop();
      await hec.close();
    }
  });

  it('Elasticsearch: ECS documents by create into data streams; a 429 item goes again alone, a 400 item is dropped, a repeat (409 on its _id) counts as delivered; no X-Elastic-Product is refused', async () => {
    const es = await new ElasticFake().start();
    const run = await runExport(
      tmp.dir,
      `  sinks:\n    elastic: { sink: elasticsearch, url: '${es.url}', apiKey: ES_KEY }\n`,
      { ES_KEY: ES_API_KEY },
    );
    try {
      const i = incident('203.0.113.10');
      es.itemFaults.push(
        new Map([
          [1, 429],
          [2, 400],
        ]),
      );
      await run.stream.append([opened(i), ruleRefused(i), speakerDown(), trafficSummary()]);
      await drained(run.host);
      // (The export.dropped alarm about the refused record is exported too, in a later request of its own.)
      const bulks = es.requests.filter((b) => !b.body.includes('"export-dropped"'));
      expect(bulks.length, bulks.map((b) => b.body).join('\n----\n')).to.equal(2);
      // The retry carries only the one 429 item.
      expect(bulks[1]?.body.trim().split('\n').length).to.equal(2);
      const ours = es.all().filter((d) => (d.event as { action: string }).action !== 'export-dropped');
      expect(ours.length).to.equal(4); // 5 records, one refused for its content
      expect(run.host.stats()[0]?.dropped.rejected).to.equal(1);
      const inc = es.docs.get('logs-ft.incident-default')?.values().next().value as Record<string, any>;
      expect(inc.event.kind).to.equal('alert');
      expect(inc.event.category).to.deep.equal(['network', 'intrusion_detection']);
      expect(inc.event.action).to.equal('ddos-detected');
      expect(inc.destination.ip).to.equal('203.0.113.10');
      expect(inc.network.transport).to.equal('udp');
      expect(inc.source.ip).to.equal('198.51.100.23');
      expect(inc.ecs.version).to.match(/^8\./);
      expect(inc.ft.incident.id).to.equal(i.id);
      expect((es.docs.get('logs-ft.rule-default')?.values().next().value as any).rule.category).to.equal(
        'never-target',
      );
      // A record sent again (after a restart before its acknowledgement was stored) is a 409 on its _id: kept once.
      expect(bulkOutcome([{ status: 201 }, { status: 409 }], 2)).to.deep.equal({ result: 'delivered' });
      es.product = undefined;
      await run.stream.append([speakerDown('x')]);
      const down = await waitFor(() =>
        eventsOf(run.stream, 'export.sink_down').then((x) => (x.length ? x : undefined)),
      );
      expect(String(down[0]?.reason)).to.contain('X-Elastic-Product');
    } finally {
      await run.stop();
      await es.close();
    }
  });

  it('Sentinel: Entra client credentials, rows to the DCR stream (204); 429 Retry-After honoured; 413 dropped', async () => {
    const az = await new SentinelFake().start();
    const run = await runExport(
      tmp.dir,
      `  sinks:\n    sentinel: { sink: sentinel, endpoint: '${az.url}', authority: '${az.url}', dcrImmutableId: ${SENTINEL.dcr}, tenantId: ${SENTINEL.tenant}, clientId: ${SENTINEL.clientId}, clientSecret: AZ_SECRET }\n`,
      { AZ_SECRET: SENTINEL.secret },
    );
    try {
      const i = incident();
      await run.stream.append([speakerDown('first')]);
      await drained(run.host);
      az.fail(json(429, { error: { code: 'TooManyRequests' } }, { 'retry-after': '1' }));
      await run.stream.append([opened(i), ruleRefused(i)]);
      await drained(run.host);
      az.rows.shift();
      expect(az.rows.map((r) => r.EventType)).to.deep.equal(['incident.opened', 'rule.refused']);
      expect(az.rows[0]?.AttackFamily).to.equal('udp_flood');
      expect(az.rows[1]?.Rail).to.equal('never-target');
      expect(az.tokens).to.equal(1);
      const ingests = az.requests.filter((r) => r.path.startsWith('/dataCollectionRules')).slice(1);
      expect(ingests[0]?.headers['content-encoding']).to.equal('gzip');
      // Honoured the wait: the second ingest came at least the second Retry-After asked for after the first.
      expect((ingests[1]?.wallAt ?? 0) - (ingests[0]?.wallAt ?? 0)).to.be.at.least(1000);
      az.fail(json(413, { error: { code: 'ContentLengthLimitExceeded' } }));
      await run.stream.append([speakerDown()]);
      await drained(run.host);
      expect(run.host.stats()[0]?.dropped.rejected).to.equal(1);
    } finally {
      await run.stop();
      await az.close();
    }
  });

  it('Datadog logs: gzip arrays of logs with ddsource, ddtags, status by severity', async () => {
    const dd = await new DatadogLogsFake().start();
    const run = await runExport(
      tmp.dir,
      `  sinks:\n    dd: { sink: datadog-logs, url: '${dd.url}', apiKey: DD_KEY, tags: ['env:lab'] }\n`,
      { DD_KEY: DD_LOGS_KEY },
    );
    try {
      const i = incident();
      await run.stream.append([opened(i), speakerDown()]);
      await drained(run.host);
      expect(dd.logs).to.have.length(2);
      expect(dd.logs[0]?.ddsource).to.equal('ft');
      expect(dd.logs[0]?.status).to.equal('error');
      expect(String(dd.logs[0]?.ddtags)).to.contain('attack_family:udp_flood').and.contain('env:lab');
      expect(dd.requests[0]?.headers['content-encoding']).to.equal('gzip');
    } finally {
      await run.stop();
      await dd.close();
    }
  });

  it('MISP: an opened incident becomes one event with ip-src attributes, tags and a ddos object; sent again it stays one event; spoofed sources are not shared', async () => {
    const misp = await new MispFake().start();
    const yaml = `  sinks:\n    misp: { sink: misp, url: '${misp.url}', authKey: MISP_KEY, events: [incident.opened] }\n`;
    const run = await runExport(tmp.dir, yaml, { MISP_KEY });
    try {
      const i = incident('203.0.113.10');
      const spoofed = incident('203.0.113.11', { spoofed: true });
      await run.stream.append([opened(i), opened(spoofed), speakerDown()]);
      await drained(run.host);
      expect(misp.events.size).to.equal(2);
      const [a, b] = [...misp.events.values()] as [any, any];
      expect(a.Event.Attribute.filter((x: any) => x.type === 'ip-src').map((x: any) => x.value)).to.deep.equal([
        '198.51.100.23',
        '192.0.2.200',
      ]);
      expect(a.Event.Tag.map((t: any) => t.name))
        .to.include('tlp:amber')
        .and.include('ft:attack-family="udp_flood"');
      expect(a.objects[0]?.name).to.equal('ddos');
      expect(b.Event.Attribute.filter((x: any) => x.type === 'ip-src')).to.have.length(0);
      // The same incident once more (a replay after a restart): MISP refuses the uuid, ft counts it delivered.
      await run.stream.append([opened(i)]);
      await drained(run.host);
      expect(misp.events.size).to.equal(2);
      expect(run.host.stats()[0]?.dropped).to.deep.equal({ spool_full: 0, rejected: 0 });
    } finally {
      await run.stop();
      await misp.close();
    }
  });

  for (const kind of ['splunk-hec', 'elasticsearch', 'sentinel', 'datadog-logs'] as const) {
    it(`${kind}: down for a long outage under load, then back: every event delivered, in order, none twice`, async () => {
      const make = {
        'splunk-hec': () => new HecFake(),
        elasticsearch: () => new ElasticFake(),
        sentinel: () => new SentinelFake(),
        'datadog-logs': () => new DatadogLogsFake(),
      }[kind];
      let fake = await make().start();
      const port = fake.port;
      const url = fake.url;
      const yaml = {
        'splunk-hec': `{ sink: splunk-hec, url: '${url}', token: T }`,
        elasticsearch: `{ sink: elasticsearch, url: '${url}', apiKey: T }`,
        sentinel: `{ sink: sentinel, endpoint: '${url}', authority: '${url}', dcrImmutableId: ${SENTINEL.dcr}, tenantId: ${SENTINEL.tenant}, clientId: ${SENTINEL.clientId}, clientSecret: T }`,
        'datadog-logs': `{ sink: datadog-logs, url: '${url}', apiKey: T }`,
      }[kind];
      const secret = {
        'splunk-hec': HEC_TOKEN,
        elasticsearch: ES_API_KEY,
        sentinel: SENTINEL.secret,
        'datadog-logs': DD_LOGS_KEY,
      }[kind];
      const run = await runExport(tmp.dir, `  sinks:\n    s: ${yaml}\n`, { T: secret });
      const ids = (f: typeof fake): string[] => {
        if (f instanceof HecFake) return f.events.map((e) => String(e.event.id));
        if (f instanceof ElasticFake) return f.all().map((d) => String((d.event as { id: string }).id));
        if (f instanceof SentinelFake) return f.rows.map((r) => String(r.EventId));
        return f.logs.map((l) => String((l.ft as { id: string }).id));
      };
      try {
        await run.stream.append([speakerDown('before')]);
        await drained(run.host);
        await fake.close();
        // While it is down: 300 events in 30 appends (the producers never wait for the sink).
        const appended: string[] = [];
        for (let k = 0; k < 30; k++) {
          const evs = await run.stream.append(
            Array.from({ length: 10 }, (_, j) =>
              draft('detector.silent', { detector: `d${k * 10 + j}`, silentForMs: 1 }),
            ),
          );
          appended.push(...evs.map((e) => e.id));
        }
        await waitFor(() => eventsOf(run.stream, 'export.sink_down').then((x) => x.length > 0), {
          timeoutMs: 30_000,
          what: 'export.sink_down',
        });
        expect(run.host.stats()[0]?.pending).to.be.greaterThan(0);
        fake = await make().start(port);
        await drained(run.host);
        const got = ids(fake).filter((id) => appended.includes(id));
        expect(got.length).to.equal(appended.length);
        expect(new Set(got).size).to.equal(appended.length);
        if (kind !== 'elasticsearch') expect(got).to.deep.equal(appended);
        expect(run.host.stats()[0]?.dropped).to.deep.equal({ spool_full: 0, rejected: 0 });
      } finally {
        await run.stop();
        await fake.close();
      }
    });
  }
});
