import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Sample } from '@ft/sdk';
import { toReport, type Incident } from '../../core/model/incident.js';
import { DEFAULT_DETECTION } from '../../core/model/detection.js';
import { DetectionEngine, type DetectionEvent } from '../../core/detect/index.js';
import { l7ConfigSchema } from '../../plugins/detector-l7/src/config.js';
import { L7Detector } from '../../plugins/detector-l7/src/detector.js';
import { isolatedHome, runFt } from '../helpers/cli.js';
import { requireLab } from '../helpers/env.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { TestNginx, wrkArgv } from './nginx.js';

describe('l7 end to end: nginx + wrk flood → http_flood incident with the flooder on top → ipset plan for it', function () {
  this.timeout(90_000);
  // Clients claim documentation addresses (nginx's realip from loopback): 127/8 is a bogon ft never blocks.
  const nginx = new TestNginx({ clientFromHeader: true });
  const FLOODER = '198.51.100.7';
  const VISITOR = '198.51.100.20';
  let detector: L7Detector | undefined;
  let engine: DetectionEngine | undefined;
  let slowRunning = false;
  let slow: Promise<void> | undefined;

  before(async function () {
    requireLab(this, { root: true, commands: ['nginx', 'wrk', 'timeout'] });
    await nginx.start();
  });

  after(async () => {
    slowRunning = false;
    await slow;
    engine?.stop();
    await detector?.stop();
    await nginx.stop();
  });

  it('opens an incident against the site naming the flooder (wrk) before the slow client, and resolves after the flood', async () => {
    const config = l7ConfigSchema.parse({
      files: [{ path: nginx.accessLog, site: 'shop.example' }],
      sites: { 'shop.example': '203.0.113.80' },
    });
    detector = new L7Detector(config, 'web');
    // A static threshold: fire at once instead of learning a baseline for 300 s.
    engine = new DetectionEngine({ settings: { ...DEFAULT_DETECTION, static: { pps: 300 }, resolveAfterMs: 2000 } });
    const events: DetectionEvent[] = [];
    const samples: Sample[] = [];
    engine.on((e) => events.push(e));
    await detector.start((s) => {
      samples.push(s);
      engine!.ingest(s);
    });
    engine.start();

    // A normal visitor on its own loopback address: a few requests a second, before, during and after the flood.
    slowRunning = true;
    slow = (async () => {
      while (slowRunning) {
        await nginx.get('/products', '127.0.0.2', VISITOR).catch(() => undefined);
        await sleep(250);
      }
    })();
    await waitFor(() => samples.some((s) => s.target === 'site:shop.example' && (s.http?.rps ?? 0) > 0), {
      timeoutMs: 10_000,
      what: 'the slow client in a sample',
    });
    expect(detector.formatOf(nginx.accessLog)).to.equal('nginx-combined');
    expect(events, 'no incident from normal traffic').to.deep.equal([]);

    const floodStart = Date.now();
    const wrkCmd = wrkArgv(nginx.port, '/flood', 3, 4, FLOODER);
    const wrk = spawn(wrkCmd[0]!, wrkCmd.slice(1), { stdio: 'ignore' });
    const wrkDone = new Promise((r) => wrk.on('exit', r));
    const opened = await waitFor(() => events.find((e) => e.type === 'open')?.incident, {
      timeoutMs: 15_000,
      what: 'an http_flood incident',
    });
    const detectedMs = Date.now() - floodStart;
    await wrkDone;

    expect(opened.family).to.equal('http_flood');
    expect(opened.target.toString()).to.equal('203.0.113.80/32');
    expect(opened.http?.site).to.equal('shop.example');
    expect(opened.topSources[0]?.address.address).to.equal(FLOODER);
    expect(opened.http?.topPaths?.[0]?.key).to.equal('/flood');
    expect(opened.detectors).to.deep.equal(['web']);
    // Every window of the flood: the flooder on top; the slow visitor seen, far below it.
    const during = events.filter((e) => e.type !== 'resolve').map((e) => e.incident);
    for (const inc of during) expect(inc.http?.topClients?.[0]?.key).to.equal(FLOODER);
    const withVisitor = during.find((inc) => inc.http?.topClients?.some((c) => c.key === VISITOR));
    expect(withVisitor, `slow client in ${JSON.stringify(during.map((i) => i.http?.topClients))}`).to.not.equal(
      undefined,
    );
    const clients = withVisitor!.http!.topClients!;
    expect(clients.find((c) => c.key === VISITOR)!.count).to.be.below(clients[0]!.count / 10);
    const latest: Incident = during.at(-1)!;
    const view = engine.view().find((v) => v.target === 'site:shop.example');
    expect(view?.state).to.equal('attack');
    expect(view?.sources.map((s) => s.sourceKind)).to.deep.equal(['l7']);
    // Loose on purpose (a loaded 2-core runner): detection within several seconds of the flood starting.
    expect(detectedMs).to.be.below(10_000);

    // The policy can act on it: the planner's on-node ipset rule blocks the flooder, not the visitor.
    const policy = join(nginx.dir, 'policy.yaml');
    writeFileSync(
      policy,
      'version: 1\ntenant: lab\nmode: preview\ndefaults: { rpki: off }\nprotect: [203.0.113.0/24]\nonNode:\n  - when: { family: http_flood, pps: ">200pps" }\n    do: [ { ipset: { dropTopSources: 1 } } ]\n',
    );
    // A file is an edge: the reference JSON, as an agent would send it.
    writeFileSync(join(nginx.dir, 'incident.json'), JSON.stringify(toReport(latest)));
    const preview = await runFt(
      ['mitigate', 'preview', '--json', '-p', policy, '-i', join(nginx.dir, 'incident.json')],
      isolatedHome(),
    );
    expect(preview.code, preview.stderr).to.equal(0);
    const blocked = [...JSON.stringify(JSON.parse(preview.stdout)).matchAll(/add ft-hf-[0-9a-f]+ (\S+) -exist/g)].map(
      (m) => m[1],
    );
    expect(blocked).to.have.length.greaterThan(0);
    expect(new Set(blocked)).to.deep.equal(new Set([FLOODER]));

    const resolved = await waitFor(() => events.find((e) => e.type === 'resolve')?.incident, {
      timeoutMs: 20_000,
      what: 'resolution after the flood',
    });
    expect(resolved.id).to.equal(opened.id);
    expect(resolved.state).to.equal('resolved');
    expect(detector.counters.parsed).to.be.greaterThan(1000);
  });
});
