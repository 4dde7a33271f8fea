import { expect } from 'chai';
import { copyFileSync, readFileSync, renameSync, statSync, truncateSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { l7ConfigSchema } from '../../plugins/detector-l7/src/config.js';
import { L7Detector } from '../../plugins/detector-l7/src/detector.js';
import { requireLab } from '../helpers/env.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { TestNginx } from './nginx.js';

const lineCount = (path: string) =>
  readFileSync(path, 'latin1')
    .split('\n')
    .filter((l) => l.length > 0).length;

describe('l7 end to end: nginx keeps logging through logrotate-style rotations; every line is read once', function () {
  this.timeout(60_000);
  const nginx = new TestNginx();
  let detector: L7Detector | undefined;
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });

  before(async function () {
    requireLab(this, { root: true, commands: ['nginx'] });
    await nginx.start();
  });
  after(async () => {
    agent.destroy();
    await detector?.stop();
    await nginx.stop();
  });

  const hit = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: nginx.port, path: `/r/${i}`, agent }, (res) => {
        res.resume();
        res.on('end', () => resolve());
      });
      req.on('error', reject);
      req.end();
    });
  async function burst(from: number, count: number): Promise<void> {
    for (let i = from; i < from + count; i += 4) await Promise.all([hit(i), hit(i + 1), hit(i + 2), hit(i + 3)]);
  }

  it('rename + USR1 under load, then copytruncate between bursts: parsed lines = lines nginx wrote', async () => {
    // Lines from nginx's own start-up probe are already there: starting at the end skips them.
    const before = lineCount(nginx.accessLog);
    detector = new L7Detector(
      l7ConfigSchema.parse({
        files: [nginx.accessLog],
        format: 'nginx-combined',
        defaultSite: 'shop.example',
        pollMs: 50,
      }),
      'rot',
    );
    await detector.start(() => undefined);
    const log = nginx.accessLog;

    const load = burst(0, 4000);
    await waitFor(() => detector!.counters.parsed > 100, { timeoutMs: 5000, what: 'the first lines read' });
    // logrotate `create` + postrotate `kill -USR1`: requests keep coming during both steps.
    renameSync(log, `${log}.1`);
    const renamedAt = statSync(`${log}.1`).size;
    await sleep(30);
    nginx.reopenLogs();
    await load;
    const firstBurstInNew = lineCount(log);
    // Both hard cases happened: nginx wrote into the renamed file after the rename, and into the new one.
    expect(statSync(`${log}.1`).size, 'lines written to the renamed file').to.be.greaterThan(renamedAt);
    expect(firstBurstInNew, 'lines of the first burst in the new file').to.be.greaterThan(0);

    // copytruncate: at a quiet moment (lines written between copy and truncate are lost by design of copytruncate).
    await burst(4000, 400);
    await sleep(300);
    copyFileSync(log, `${log}.2`);
    truncateSync(log, 0);
    await burst(4400, 400);

    // What nginx wrote since the detector started, across the three files: every request made one line.
    // nginx logs after it answers, so the last lines may land a moment after the last response.
    const written = () => lineCount(`${log}.1`) - before + lineCount(`${log}.2`) + lineCount(log);
    await waitFor(() => written() >= 4800, { timeoutMs: 5000, what: `nginx to log every request (has ${written()})` });
    await sleep(200);
    expect(written()).to.equal(4800);
    await waitFor(() => detector!.counters.parsed >= 4800, {
      timeoutMs: 10_000,
      what: `all lines read (have ${detector.counters.parsed})`,
    });
    await sleep(500);
    expect(detector.counters.parsed).to.equal(4800);
    expect(detector.counters.lines).to.equal(4800);
  });
});
