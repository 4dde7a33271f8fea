// Email through a real SMTP server (the npm smtp-server package, in process) with STARTTLS and AUTH, parsed by
// mailparser: the headers and body a NOC mailbox gets, threading per incident, a 4xx retried, a 535 that breaks
// the channel.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { drained, incident, opened, policyText, resolved, ruleAdded, runAlerts, tempDir } from './harness.js';
import { readStatuses } from '../../core/alerts/status.js';
import { waitFor } from '../helpers/wait.js';

interface Smtp {
  server: SMTPServer;
  port: number;
  mails: ParsedMail[];
  /** Next DATA commands answered with these SMTP errors. */
  faults: { code: number; message: string }[];
  logins: string[];
  /** DATA transactions, refused ones included. */
  data: number;
}

async function startSmtp(dir: string, password: string): Promise<Smtp> {
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  const s: Smtp = { server: undefined as never, port: 0, mails: [], faults: [], logins: [], data: 0 };
  s.server = new SMTPServer({
    key: readFileSync(key),
    cert: readFileSync(cert),
    authMethods: ['PLAIN', 'LOGIN'],
    // Auth only after STARTTLS, as a real submission server (port 587) insists.
    allowInsecureAuth: false,
    logger: false,
    onAuth(auth, _session, cb) {
      s.logins.push(String(auth.username));
      if (auth.username === 'ft-alerts' && auth.password === password) cb(null, { user: auth.username });
      else cb(Object.assign(new Error('Authentication credentials invalid'), { responseCode: 535 }));
    },
    onData(stream, _session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        s.data++;
        const fault = s.faults.shift();
        if (fault) return cb(Object.assign(new Error(fault.message), { responseCode: fault.code }));
        void simpleParser(Buffer.concat(chunks)).then((m) => {
          s.mails.push(m);
          cb();
        });
      });
    },
  });
  await new Promise<void>((r) => s.server.listen(0, '127.0.0.1', () => r()));
  s.port = (s.server.server.address() as { port: number }).port;
  return s;
}

describe('alerts: email over SMTP (a real smtp-server with STARTTLS and AUTH)', function () {
  this.timeout(60_000);

  it('each state change is one mail with the facts, threaded per incident; a 451 is retried; a 535 breaks the channel', async () => {
    const tmp = tempDir();
    const smtp = await startSmtp(tmp.dir, 's3cret');
    const channels = (user: string) => `  channels:
    noc-mail:
      channel: email
      host: 127.0.0.1
      port: ${smtp.port}
      tls: starttls
      user: ${user}
      password: FT_SMTP_PASSWORD
      from: ft@edge-1.example.net
      to: [noc@example.net, oncall@example.net]
      ca: ${JSON.stringify(join(tmp.dir, 'cert.pem'))}`;
    const run = await runAlerts(tmp.dir, policyText(channels('FT_SMTP_USER')), {
      FT_SMTP_USER: 'ft-alerts',
      FT_SMTP_PASSWORD: 's3cret',
    });
    try {
      smtp.faults.push({ code: 451, message: '4.3.0 Mail server temporarily rejected message' });
      const inc = incident('203.0.113.10');
      await run.stream.append([opened(inc)]);
      await waitMails(smtp, 1);
      await run.stream.append([ruleAdded(inc)]);
      await waitMails(smtp, 2);
      await run.stream.append([resolved(inc)]);
      await waitMails(smtp, 3);
      await drained(run.host);
      const [m0, m1, m2] = smtp.mails as [ParsedMail, ParsedMail, ParsedMail];
      expect(m0.subject).to.equal('[ft] HIGH DDoS udp_flood on 203.0.113.10: opened');
      expect(m2.subject).to.equal('[ft] HIGH DDoS udp_flood on 203.0.113.10: resolved');
      expect(m0.from?.text).to.equal('ft@edge-1.example.net');
      expect((Array.isArray(m0.to) ? m0.to : [m0.to]).map((t) => t?.text).join(',')).to.include('noc@example.net');
      expect(m0.headers.get('x-ft-alert')).to.equal('incident.opened');
      expect(m0.text).to.include('Target: 203.0.113.10').and.include('Peak: 892,401 pps');
      expect(m0.html).to.include('<th align="left">Target</th><td>203.0.113.10</td>');
      // One thread: every mail of the incident refers to the same root.
      const root = m0.inReplyTo;
      expect(root).to.match(/^<[0-9a-f]{32}\.thread@edge-1\.example\.net>$/);
      expect([m1.inReplyTo, m2.inReplyTo]).to.deep.equal([root, root]);
      expect(new Set([m0.messageId, m1.messageId, m2.messageId]).size).to.equal(3);
      expect(smtp.logins.every((u) => u === 'ft-alerts')).to.equal(true);
      // The 451 was one more transaction, then the same mail again.
      expect(smtp.data).to.equal(4);
    } finally {
      await run.stop();
    }

    // A wrong password: 535 from the server is a dead channel, not a retry loop.
    // (verify() at start fails too: a warning; the channel runs and breaks at its first alert.)
    const bad = await runAlerts(join(tmp.dir, 'second'), policyText(channels('FT_SMTP_USER')), {
      FT_SMTP_USER: 'ft-alerts',
      FT_SMTP_PASSWORD: 'wrong',
    });
    try {
      await bad.stream.append([opened(incident())]);
      await waitFor(async () => (await readStatuses(join(tmp.dir, 'second'))).get('noc-mail')?.state === 'broken', {
        timeoutMs: 30_000,
        what: 'the channel to break on 535',
      });
      expect((await readStatuses(join(tmp.dir, 'second'))).get('noc-mail')?.brokenReason).to.match(/^535/);
    } finally {
      await bad.stop();
      smtp.server.close();
      tmp.cleanup();
    }
  });
});

async function waitMails(s: Smtp, n: number): Promise<void> {
  await waitFor(() => s.mails.length >= n, { timeoutMs: 30_000, what: `${n} mail(s)` });
}
