// The export and control-plane Prometheus rules and the Grafana dashboard, checked by Debian's own promtool: the
// rules load and fire when their tests say; every dashboard query parses as PromQL (promtool checks them as
// recording rules) and names only metrics ft serves.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { ROOT } from '../helpers/cli.js';
import { FtMetrics } from '../../core/metrics/metrics.js';
import { tempDir } from './harness.js';

const run = promisify(execFile);
const dir = join(ROOT, 'lab', 'prometheus');

describe('lab/prometheus export rules and lab/grafana dashboard (promtool)', () => {
  it('the rules load and fire FtExportSinkDown, FtExportDropping, FtSpeakerDown, FtRulesRefusedByRail when their tests say', async () => {
    const check = await run('promtool', ['check', 'rules', join(dir, 'ft-export-rules.yml')]);
    expect(check.stdout).to.match(/SUCCESS: 6 rules found/);
    const test = await run('promtool', ['test', 'rules', join(dir, 'ft-export-rules.test.yml')], { cwd: dir });
    expect(test.stdout + test.stderr).to.match(/SUCCESS/);
    const config = await run('promtool', ['check', 'config', join(dir, 'prometheus.yml')], { cwd: dir });
    expect(config.stdout + config.stderr).to.match(/SUCCESS/);
  });

  it('every dashboard query is valid PromQL over metrics ft serves', async () => {
    const dash = JSON.parse(readFileSync(join(ROOT, 'lab', 'grafana', 'ft-dashboard.json'), 'utf8')) as {
      panels: { type: string; title: string; targets?: { expr: string }[] }[];
    };
    const exprs = dash.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    expect(exprs.length).to.be.greaterThan(20);
    const t = tempDir();
    try {
      const file = join(t.dir, 'dashboard-rules.yml');
      const rules = exprs.map(
        (e, i) =>
          `      - record: ft_dashboard:q${i}\n        expr: '${e.replace(/\$instance/g, '.*').replace(/'/g, "''")}'`,
      );
      writeFileSync(file, `groups:\n  - name: dashboard\n    rules:\n${rules.join('\n')}\n`);
      const check = await run('promtool', ['check', 'rules', file]);
      expect(check.stdout).to.contain(`SUCCESS: ${exprs.length} rules found`);
    } finally {
      t.cleanup();
    }
    // Names ft serves: its own registry, plus the flow detector's own metrics (bridged at scrape time).
    const m = new FtMetrics({ defaults: false });
    const served = new Set((await m.registry.getMetricsAsJSON()).map((x) => x.name));
    const flow = readFileSync(join(ROOT, 'plugins', 'detector-flow', 'src', 'detector.ts'), 'utf8');
    const names = new Set(exprs.flatMap((e) => e.match(/\bft_[a-z0-9_]+/g) ?? []));
    for (const n of names) {
      const base = n.replace(/_(bucket|sum|count)$/, '');
      expect(served.has(base) || flow.includes(`'${n}'`), `${n} is not a metric ft serves`).to.equal(true);
    }
  });
});
