// The `export:` policy section (validated with positions, explained), `ft export test` through the real path,
// and the file sink (Suricata EVE, Zeek TSV, rotation).
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { PolicyError, explainPolicy, parsePolicy } from '../../core/policy/index.js';
import { isolatedHome, runFt } from '../helpers/cli.js';
import { HEC_TOKEN, HecFake } from '../fakes/splunk-hec.js';
import { ZEEK_FIELDS } from '../../plugins/export/src/format/zeek.js';
import {
  drained,
  exportRegistry,
  incident,
  opened,
  policyText,
  ruleRefused,
  runExport,
  tempDir,
  trafficSummary,
} from './harness.js';

function issues(text: string): string[] {
  try {
    parsePolicy(text, 'p.yaml', exportRegistry());
  } catch (err) {
    if (err instanceof PolicyError) return err.issues.map((i) => `${i.line}:${i.column} ${i.path}: ${i.message}`);
    throw err;
  }
  return [];
}

describe('export policy section, ft export test, file sink', function () {
  this.timeout(60_000);

  it('names every problem with its line and column: a pasted token, a kind typo, a bad category, a bad spool size', () => {
    const got = issues(
      policyText(`  sinks:
    splunk: { sink: splunk-hec, url: 'https://splunk.example:8088', token: 'abc-123-pasted' }
    es: { sink: elastcsearch, url: 'https://es.example' }
    soc: { sink: syslog, host: siem.example, events: [incidents] }
    big: { sink: file, path: /var/log/ft/eve.json, format: eve, spool: { maxSize: 10kB } }
`),
    );
    expect(got.join('\n')).to.match(/^11:\d+ export\.sinks\.soc\.events\[0\]: expected a category/m);
    const second = issues(
      policyText(`  sinks:
    splunk: { sink: splunk-hec, url: 'https://splunk.example:8088', token: 'abc-123-pasted' }
    es: { sink: elastcsearch, url: 'https://es.example' }
    big: { sink: file, path: /var/log/ft/eve.json, format: eve, spool: { maxSize: 10kB } }
`),
    ).join('\n');
    expect(second).to.match(/^9:\d+ export\.sinks\.splunk\.token: name the environment variable/m);
    expect(second).to.match(
      /^10:\d+ export\.sinks\.es\.sink: no installed export sink kind "elastcsearch": did you mean "elasticsearch"\?/m,
    );
    expect(second).to.match(/^11:\d+ export\.sinks\.big\.spool\.maxSize: must be between 1MiB and 1TiB/m);
  });

  it('explain says what each sink receives', () => {
    const p = parsePolicy(
      policyText(`  traffic: { interval: 30s }
  sinks:
    soc: { sink: syslog, host: siem.example, events: [incident, rule.refused], severity: high }
`),
      'p.yaml',
      exportRegistry(),
    );
    expect(explainPolicy(p).text)
      .to.contain('export: 1 sink(s); traffic summaries every 30s')
      .and.contain('soc (syslog) receives incident, rule.refused when severity >= high');
  });

  it('ft export test sends sample records through the real path and exits 0; 1 when the sink refuses the token', async () => {
    const hec = await new HecFake().start();
    const home = isolatedHome();
    const t = tempDir();
    try {
      const file = join(t.dir, 'policy.yaml');
      writeFileSync(
        file,
        policyText(`  sinks:\n    splunk: { sink: splunk-hec, url: '${hec.url}', token: HEC_TOKEN }\n`),
      );
      const ok = await runFt(
        ['export', 'test', 'splunk', '--policy', file, '--state-dir', join(t.dir, 's'), '--json'],
        { ...home, HEC_TOKEN },
      );
      expect(ok.code, ok.stderr).to.equal(0);
      const out = JSON.parse(ok.stdout) as { result: string; records: number };
      expect(out.result).to.equal('delivered');
      expect(hec.events.map((e) => e.sourcetype)).to.deep.equal([
        'ft:incident',
        'ft:rule',
        'ft:rule',
        'ft:traffic',
        'ft:operational',
      ]);
      expect(String(hec.events[0]?.event.id)).to.match(/^test-/);
      const bad = await runFt(
        ['export', 'test', 'splunk', '--policy', file, '--state-dir', join(t.dir, 's'), '--patience', '2'],
        { ...home, HEC_TOKEN: 'wrong' },
      );
      expect(bad.code).to.equal(1);
      expect(bad.stdout + bad.stderr).to.contain('Invalid token');
    } finally {
      t.cleanup();
      await hec.close();
    }
  });

  it('file sink: EVE alerts and flows, a Zeek log with its header, rotated by size keeping N files', async () => {
    const t = tempDir();
    try {
      const run = await runExport(
        t.dir,
        `  sinks:
    eve: { sink: file, path: ${t.dir}/out/eve.json, format: eve }
    zeek: { sink: file, path: ${t.dir}/out/ft.log, format: zeek, rotate: { maxSize: 4096, keep: 2 } }
`,
      );
      try {
        const i = incident('203.0.113.10');
        await run.stream.append([opened(i), ruleRefused(i), trafficSummary()]);
        await drained(run.host);
        const eve = readFileSync(join(t.dir, 'out/eve.json'), 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as Record<string, any>);
        expect(eve.map((e) => e.event_type)).to.deep.equal(['alert', 'alert', 'flow', 'flow']);
        expect(eve[0]?.alert.signature).to.equal('FT DDoS udp_flood detected');
        expect(eve[0]?.alert.category).to.equal('Attempted Denial of Service');
        expect(eve[0]?.dest_ip).to.equal('203.0.113.10');
        expect(eve[0]?.timestamp).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+0000$/);
        expect(eve[2]?.flow.pkts_toserver).to.equal(1200 * 60);
        const zeek = readFileSync(join(t.dir, 'out/ft.log'), 'utf8').split('\n');
        expect(zeek[0]).to.equal('#separator \\x09');
        const fields = zeek
          .find((l) => l.startsWith('#fields'))
          ?.split('\t')
          .slice(1);
        expect(fields).to.deep.equal(ZEEK_FIELDS.map((f) => f[0]));
        const rows = zeek.filter((l) => l && !l.startsWith('#')).map((l) => l.split('\t'));
        expect(rows[0]?.length).to.equal(ZEEK_FIELDS.length);
        expect(rows[0]?.[fields?.indexOf('dest_h') ?? -1]).to.equal('203.0.113.10');
        // Rotation: many records past 4 KiB, at most 2 old files kept, each starting with the header.
        for (let k = 0; k < 40; k++) await run.stream.append([trafficSummary(`203.0.113.${20 + k}`)]);
        await drained(run.host);
        const files = readdirSync(join(t.dir, 'out'))
          .filter((f) => f.startsWith('ft.log'))
          .sort();
        expect(files).to.deep.equal(['ft.log', 'ft.log.1', 'ft.log.2']);
        const old = readFileSync(join(t.dir, 'out/ft.log.1'), 'utf8');
        expect(old.startsWith('#separator')).to.equal(true);
        expect(old.trim().split('\n').at(-1)).to.match(/^#close\t/);
      } finally {
        await run.stop();
      }
    } finally {
      t.cleanup();
    }
  });
});
