// Syslog export through a real rsyslog (Debian rsyslog 8.2302 with rsyslog-openssl): UDP, TCP with RFC 6587
// octet counting and TLS (RFC 5425), read back from the file rsyslog writes and parsed by the RFC 5424 and CEF
// readers in ./rsyslog.ts (written from the specifications, not from ft's encoder).
import { expect } from 'chai';
import { draft } from '../../core/events/index.js';
import { waitFor } from '../helpers/wait.js';
import { hasRsyslog, parse5424, parseCef, startRsyslog, type Rsyslog } from './rsyslog.js';
import { drained, incident, opened, ruleRefused, runExport, speakerDown, tempDir, trafficSummary } from './harness.js';

const ci = process.env.CI === 'true' || process.env.CI === '1';

describe('export: syslog CEF through a real rsyslog', function () {
  this.timeout(90_000);
  let tmp: ReturnType<typeof tempDir>;
  let rs: Rsyslog;

  before(async function () {
    if (!hasRsyslog()) {
      if (ci) throw new Error('rsyslog + rsyslog-openssl are not installed (lab/setup installs them)');
      this.skip();
    }
    tmp = tempDir();
    rs = await startRsyslog(tmp.dir);
  });
  after(async () => {
    await rs?.stop();
    tmp?.cleanup();
  });

  it('delivers incidents, refused rules (with the rail), traffic summaries and operational events over UDP, TCP and TLS, escaped so a CEF parser reads them back', async () => {
    const sinks = `  sinks:
    soc-udp: { sink: syslog, host: 127.0.0.1, port: ${rs.udp}, transport: udp }
    soc-tcp: { sink: syslog, host: 127.0.0.1, port: ${rs.tcp}, transport: tcp }
    soc-tls: { sink: syslog, host: 127.0.0.1, port: ${rs.tls}, transport: tls, tls: { ca: ${rs.ca}, serverName: localhost } }
`;
    const run = await runExport(tmp.dir, sinks);
    try {
      const i = incident('203.0.113.10');
      const refused = ruleRefused(i) as { data: Record<string, unknown> };
      // Characters CEF must escape: a pipe and a backslash in a header field (the name carries the rail), an
      // equals sign, a backslash and a line break in an extension value.
      refused.data.rail = 'rail|with\\pipe';
      refused.data.message = 'a=b \\ c\nsecond line';
      await run.stream.append([opened(i), refused as never, trafficSummary(), speakerDown()]);
      await drained(run.host);
      const byInput = await waitFor(
        () => {
          const l = rs.lines();
          const g = {
            imudp: l.filter((x) => x.input === 'imudp'),
            imptcp: l.filter((x) => x.input === 'imptcp'),
            imtcp: l.filter((x) => x.input === 'imtcp'),
          };
          return g.imudp.length >= 5 && g.imptcp.length >= 5 && g.imtcp.length >= 5 ? g : undefined;
        },
        { timeoutMs: 30_000, what: 'rsyslog to write 5 messages per input' },
      );
      for (const [input, lines] of Object.entries(byInput)) {
        expect(lines, input).to.have.length(5);
        const msgs = lines.map((l) => parse5424(l.raw));
        const cefs = msgs.map((m) => parseCef(m.msg));
        expect(
          msgs.map((m) => m.msgId),
          input,
        ).to.deep.equal(['incident.opened', 'rule.refused', 'traffic.summary', 'traffic.summary', 'speaker.down']);
        // local4 (20) × 8 + severity: high → err (3).
        expect(msgs[0]?.pri, input).to.equal(20 * 8 + 3);
        expect(msgs[0]?.hostname).to.equal('edge-1');
        expect(msgs[0]?.appName).to.equal('ft');
        const [inc, rule, t1, t2, op] = cefs as [
          (typeof cefs)[0],
          (typeof cefs)[0],
          (typeof cefs)[0],
          (typeof cefs)[0],
          (typeof cefs)[0],
        ];
        expect(inc.vendor).to.equal('ft');
        expect(inc.classId).to.equal('ddos.udp_flood');
        expect(inc.severity).to.equal(8);
        expect(inc.ext.dst).to.equal('203.0.113.10');
        expect(inc.ext.dpt).to.equal('443');
        expect(inc.ext.proto).to.equal('UDP');
        expect(inc.ext.cs1).to.equal(i.id);
        expect(inc.ext.cs1Label).to.equal('incidentId');
        expect(inc.ext.cn1).to.equal('892401');
        expect(inc.ext.rt).to.match(/^\d{13}$/);
        expect(rule.name).to.equal('Rule refused (rail|with\\pipe)');
        expect(rule.ext.cs4).to.equal('rail|with\\pipe');
        expect(rule.ext.outcome).to.equal('failure');
        expect(rule.ext.msg).to.contain('a=b \\ c\nsecond line');
        expect(rule.ext.cs3Label).to.equal('ruleId');
        expect([t1.ext.cs5, t2.ext.cs5]).to.deep.equal(['203.0.113.10', '203.0.113.11']);
        expect(t1.classId).to.equal('traffic.summary');
        expect(op.classId).to.equal('speaker.down');
        expect(op.ext.msg).to.contain('speaker edge-gobgp');
        // Every record carries its own id: the collector can tell a repeat.
        expect(new Set(cefs.map((c) => c.ext.externalId)).size).to.equal(5);
      }
    } finally {
      await run.stop();
    }
  });

  it('TCP: a collector that is down gets everything once it is back, in order, each record once, and the outage is alarmed', async () => {
    const sub = tempDir();
    const run = await runExport(
      sub.dir,
      `  sinks:\n    soc: { sink: syslog, host: 127.0.0.1, port: ${rs.tcp}, transport: tcp }\n`,
    );
    try {
      // Connected and idle, then the collector goes away.
      await run.stream.append([speakerDown('warm-up')]);
      await drained(run.host);
      await waitFor(() => rs.lines().some((l) => l.raw.includes('warm-up')), {
        timeoutMs: 20_000,
        what: 'the warm-up record',
      });
      await rs.stop();
      const before = rs.lines().length;
      const N = 60;
      const drafts = Array.from({ length: N }, (_, k) =>
        draft('detector.silent', { detector: `d${k}`, silentForMs: 60_000 + k }),
      );
      for (let k = 0; k < N; k += 10) await run.stream.append(drafts.slice(k, k + 10));
      // The sink says it is down on the stream (alert channels deliver that); its records wait in the spool.
      const { readForward } = await import('../../core/events/index.js');
      await waitFor(
        async () => {
          for await (const b of readForward(run.stream.source))
            if (b.events.some((e) => e.type === 'export.sink_down')) return true;
          return false;
        },
        { timeoutMs: 30_000, what: 'export.sink_down' },
      );
      const stats = run.host.stats()[0];
      expect(stats?.state).to.equal('failing');
      expect(stats?.pending).to.be.greaterThan(0);
      await rs.start();
      await drained(run.host);
      const got = await waitFor(
        () => {
          const l = rs
            .lines()
            .slice(before)
            .map((x) => parseCef(parse5424(x.raw).msg));
          const silent = l.filter((c) => c.classId === 'detector.silent');
          return silent.length >= N ? l : undefined;
        },
        { timeoutMs: 30_000, what: `${N} records after the outage` },
      );
      const silent = got.filter((c) => c.classId === 'detector.silent');
      expect(silent.map((c) => c.ext.msg?.match(/detector d(\d+)/)?.[1]).map(Number)).to.deep.equal(
        Array.from({ length: N }, (_, k) => k),
      );
      expect(new Set(silent.map((c) => c.ext.externalId)).size).to.equal(N);
      // The recovery is on the stream too.
      expect(got.some((c) => c.classId === 'export.sink_ok')).to.equal(true);
      expect(run.host.stats()[0]?.dropped).to.deep.equal({ spool_full: 0, rejected: 0 });
    } finally {
      await run.stop();
      sub.cleanup();
    }
  });
});
