// The shipped Prometheus rules, checked by Debian's own promtool: they load, and they fire on what they should
// (lab/prometheus/ft-rules.test.yml feeds series and names the alerts expected at each time).
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { ROOT } from '../helpers/cli.js';

const run = promisify(execFile);
const dir = join(ROOT, 'lab', 'prometheus');

describe('lab/prometheus: ft’s alerting rules (promtool)', () => {
  it('load, and fire FtDdosIncident, FtDown and FtAlertChannelBroken exactly when their tests say', async () => {
    const check = await run('promtool', ['check', 'rules', join(dir, 'ft-rules.yml')]);
    expect(check.stdout).to.match(/SUCCESS: 7 rules found/);
    const test = await run('promtool', ['test', 'rules', join(dir, 'ft-rules.test.yml')], { cwd: dir });
    expect(test.stdout + test.stderr).to.match(/SUCCESS/);
    const config = await run('promtool', ['check', 'config', join(dir, 'prometheus.yml')], { cwd: dir });
    expect(config.stdout + config.stderr).to.match(/SUCCESS/);
    const am = await run('amtool', ['check-config', join(dir, 'alertmanager.yml')]);
    expect(am.stdout).to.match(/SUCCESS/);
  });
});
