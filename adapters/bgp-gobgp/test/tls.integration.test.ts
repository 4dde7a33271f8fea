import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PluginContext } from '@ft/sdk';
import { Daemon } from '../../../test/helpers/daemon.js';
import { requireLab } from '../../../test/helpers/env.js';
import { freePort, run } from '../../../test/helpers/net.js';
import { waitFor } from '../../../test/helpers/wait.js';
import { GobgpAction } from '../src/action.js';
import { gobgpConfigSchema } from '../src/config.js';

const silent = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silent;
  },
};
const ctx = {
  name: 'remote',
  logger: silent,
  secret: () => {
    throw new Error('none');
  },
} as unknown as PluginContext;

describe('gobgp adapter to a remote gobgpd over TLS (gobgpd --tls)', function () {
  this.timeout(30_000);
  let dir: string;
  let daemon: Daemon | undefined;
  let address: string;

  before(async function () {
    requireLab(this, { root: true, commands: ['gobgpd', 'openssl'] });
    dir = mkdtempSync(join(tmpdir(), 'ft-gobgp-tls-'));
    // A private CA and a server certificate for 127.0.0.1, as an operator would issue for a remote speaker.
    run([
      'openssl',
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=ft test CA',
      '-keyout',
      join(dir, 'ca.key'),
      '-out',
      join(dir, 'ca.pem'),
    ]);
    run([
      'openssl',
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-subj',
      '/CN=gobgpd',
      '-keyout',
      join(dir, 'server.key'),
      '-out',
      join(dir, 'server.csr'),
    ]);
    writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:gobgpd.pop1.example\n');
    run([
      'openssl',
      'x509',
      '-req',
      '-in',
      join(dir, 'server.csr'),
      '-CA',
      join(dir, 'ca.pem'),
      '-CAkey',
      join(dir, 'ca.key'),
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      join(dir, 'ext.cnf'),
      '-out',
      join(dir, 'server.pem'),
    ]);
    writeFileSync(join(dir, 'gobgpd.toml'), '[global.config]\n  as = 64500\n  router-id = "192.0.2.1"\n  port = -1\n');
    const port = await freePort();
    address = `127.0.0.1:${port}`;
    daemon = new Daemon([
      'gobgpd',
      '-f',
      join(dir, 'gobgpd.toml'),
      '--api-hosts',
      address,
      '--tls',
      '--tls-cert-file',
      join(dir, 'server.pem'),
      '--tls-key-file',
      join(dir, 'server.key'),
      '-p',
      '--pprof-disable',
    ]);
    await waitFor(() => daemon?.output.includes('gobgpd started') || !daemon?.running, {
      timeoutMs: 10_000,
      what: 'gobgpd to start',
    });
    if (!daemon.running) throw new Error(`gobgpd exited: ${daemon.output}`);
  });
  after(async () => {
    await daemon?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('talks to gobgpd when it trusts the CA, and reports the speaker down when it does not', async () => {
    const trusted = new GobgpAction(gobgpConfigSchema.parse({ address, tls: { ca: join(dir, 'ca.pem') } }), ctx);
    const untrusted = new GobgpAction(gobgpConfigSchema.parse({ address, tls: {}, timeoutMs: 2000 }), ctx);
    const plaintext = new GobgpAction(gobgpConfigSchema.parse({ address, timeoutMs: 2000 }), ctx);
    try {
      // Reachable and authenticated, but this gobgpd has no neighbors: degraded, and it says so.
      expect(await trusted.health()).to.deep.equal({
        status: 'degraded',
        detail: `gobgpd at ${address} has no neighbors`,
      });
      expect(await trusted.list()).to.deep.equal([]);
      expect((await untrusted.health()).status).to.equal('down');
      expect((await plaintext.health()).status).to.equal('down');
    } finally {
      await trusted.close();
      await untrusted.close();
      await plaintext.close();
    }
  });

  it('checks the certificate against serverName when the address is not the name on it', async () => {
    const named = new GobgpAction(
      gobgpConfigSchema.parse({ address, tls: { ca: join(dir, 'ca.pem'), serverName: 'gobgpd.pop1.example' } }),
      ctx,
    );
    const wrong = new GobgpAction(
      gobgpConfigSchema.parse({
        address,
        tls: { ca: join(dir, 'ca.pem'), serverName: 'other.example' },
        timeoutMs: 2000,
      }),
      ctx,
    );
    try {
      expect((await named.health()).status).to.equal('degraded');
      expect((await wrong.health()).status).to.equal('down');
    } finally {
      await named.close();
      await wrong.close();
    }
  });
});
