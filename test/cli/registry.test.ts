import { expect } from 'chai';
import { join } from 'node:path';
import { ROOT, isolatedHome, runFt } from '../helpers/cli.js';

const fixture = (name: string) => join(ROOT, 'test', 'fixtures', name);

interface RegistryJson {
  kinds: { role: string; kind: string; plugin: string; capabilities?: string[]; reach?: string }[];
  failures: { plugin: string; error: string }[];
}

async function registryJson(env: Record<string, string>): Promise<RegistryJson> {
  const r = await runFt(['registry', '--json'], env);
  return JSON.parse(r.stdout) as RegistryJson;
}

describe('ft registry and linked plugins', () => {
  it('a plugin linked with `ft plugins link` contributes its action kind', async () => {
    const env = isolatedHome();
    const before = await registryJson(env);
    expect(before.kinds.map((k) => k.kind)).to.not.include('record-file');

    const link = await runFt(['plugins', 'link', fixture('plugin-template'), '--no-install'], env);
    expect(link.code, link.stderr).to.equal(0);

    const listed = await runFt(['plugins'], env);
    expect(listed.stdout).to.include('ft-plugin-template');

    const after = await registryJson(env);
    const entry = after.kinds.find((k) => k.kind === 'record-file');
    expect(entry).to.deep.include({ role: 'action', plugin: 'ft-plugin-template', reach: 'host' });
    expect(entry?.capabilities).to.deep.equal(['host-filter']);

    const human = await runFt(['registry'], env);
    expect(human.code).to.equal(0);
    expect(human.stdout).to.match(/^action\s+record-file\s+host-filter\s+host\s+ft-plugin-template/m);
    expect(human.stdout).to.match(/^action\s+http-controller\s+flowspec,rtbh\s+network\s+ft-plugin-template/m);

    const unlink = await runFt(['plugins', 'uninstall', 'ft-plugin-template'], env);
    expect(unlink.code, unlink.stderr).to.equal(0);
    expect((await registryJson(env)).kinds.map((k) => k.kind)).to.not.include('record-file');
  });

  it('two plugins claiming one kind is an error naming both', async () => {
    const env = isolatedHome();
    for (const name of ['plugin-template', 'plugin-duplicate']) {
      const r = await runFt(['plugins', 'link', fixture(name), '--no-install'], env);
      expect(r.code, r.stderr).to.equal(0);
    }
    const r = await runFt(['registry'], env);
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.include('action kind "record-file" is provided by two plugins');
    expect(r.stderr).to.include('ft-plugin-template');
    expect(r.stderr).to.include('ft-plugin-duplicate');
  });

  it('a plugin whose registration throws is reported and the command exits 1', async () => {
    const env = isolatedHome();
    for (const name of ['plugin-template', 'plugin-broken']) {
      const r = await runFt(['plugins', 'link', fixture(name), '--no-install'], env);
      expect(r.code, r.stderr).to.equal(0);
    }
    const r = await runFt(['registry'], env);
    expect(r.code).to.equal(1);
    expect(r.stdout).to.include('record-file');
    expect(r.stderr).to.include('ft-plugin-broken');
    expect(r.stderr).to.include('cannot find my config');
  });
});
