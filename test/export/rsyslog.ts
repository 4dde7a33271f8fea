// A real rsyslog (Debian's rsyslog + rsyslog-openssl, from lab/setup) started by the test with its own
// configuration on free loopback ports: UDP (imudp), plain TCP (imptcp, octet-counted framing) and TLS (imtcp
// with the ossl network stream driver). Everything it receives goes to one file, the raw message after the
// transport framing, prefixed with the input it came through; the tests read that file back.
import { spawn, type ChildProcess, execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../helpers/net.js';

export interface Rsyslog {
  udp: number;
  tcp: number;
  tls: number;
  ca: string;
  out: string;
  lines(): { input: string; raw: string }[];
  stop(): Promise<void>;
  start(): Promise<void>;
}

export const RSYSLOGD = '/usr/sbin/rsyslogd';
export const hasRsyslog = () => existsSync(RSYSLOGD) && existsSync('/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_ossl.so');

function certs(dir: string): { ca: string; cert: string; key: string } {
  const ca = join(dir, 'ca.pem');
  const caKey = join(dir, 'ca.key');
  const key = join(dir, 'server.key');
  const csr = join(dir, 'server.csr');
  const cert = join(dir, 'server.pem');
  const ext = join(dir, 'ext.cnf');
  const q = { stdio: 'ignore' as const };
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      caKey,
      '-out',
      ca,
      '-days',
      '1',
      '-subj',
      '/CN=ft test CA',
    ],
    q,
  );
  execFileSync(
    'openssl',
    ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', '/CN=localhost'],
    q,
  );
  writeFileSync(ext, 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  execFileSync(
    'openssl',
    [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      ca,
      '-CAkey',
      caKey,
      '-CAcreateserial',
      '-out',
      cert,
      '-days',
      '1',
      '-extfile',
      ext,
    ],
    q,
  );
  return { ca, cert, key };
}

export async function startRsyslog(dir: string): Promise<Rsyslog> {
  const { ca, cert, key } = certs(dir);
  const [udp, tcp, tls] = [await freePort(), await freePort(), await freePort()];
  const out = join(dir, 'received.log');
  const conf = join(dir, 'rsyslog.conf');
  writeFileSync(
    conf,
    `global(workDirectory="${dir}" maxMessageSize="64k"
  defaultNetstreamDriverCAFile="${ca}" defaultNetstreamDriverCertFile="${cert}" defaultNetstreamDriverKeyFile="${key}")
module(load="imudp")
module(load="imptcp")
module(load="imtcp" streamDriver.name="ossl" streamDriver.mode="1" streamDriver.authMode="anon")
template(name="raw" type="string" string="%inputname% %rawmsg%\\n")
ruleset(name="keep") {
  action(type="omfile" file="${out}" template="raw" flushOnTXEnd="on" asyncWriting="off")
}
input(type="imudp" address="127.0.0.1" port="${udp}" ruleset="keep")
input(type="imptcp" address="127.0.0.1" port="${tcp}" ruleset="keep")
input(type="imtcp" address="127.0.0.1" port="${tls}" ruleset="keep")
`,
  );
  let child: ChildProcess | undefined;
  let stderr = '';
  const start = async () => {
    stderr = '';
    child = spawn(RSYSLOGD, ['-n', '-f', conf, '-i', join(dir, 'rsyslogd.pid')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    // Up when every listener accepts: TCP and TLS by connecting; UDP is bound in the same start-up step.
    const deadline = Date.now() + 20_000;
    const net = await import('node:net');
    for (const port of [tcp, tls]) {
      for (;;) {
        if (child.exitCode !== null) throw new Error(`rsyslogd exited ${child.exitCode}: ${stderr}`);
        const ok = await new Promise<boolean>((r) => {
          const s = net.connect(port, '127.0.0.1');
          s.once('connect', () => {
            s.destroy();
            r(true);
          });
          s.once('error', () => r(false));
        });
        if (ok) break;
        if (Date.now() > deadline) throw new Error(`rsyslogd did not listen on ${port}: ${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  await start();
  return {
    udp,
    tcp,
    tls,
    ca,
    out,
    lines() {
      if (!existsSync(out)) return [];
      return readFileSync(out, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          const sp = l.indexOf(' ');
          return { input: l.slice(0, sp), raw: l.slice(sp + 1) };
        });
    },
    start,
    async stop() {
      const c = child;
      if (!c || c.exitCode !== null) return;
      await new Promise<void>((r) => {
        c.once('exit', () => r());
        c.kill('SIGTERM');
      });
    },
  };
}

// ── An independent reader of what rsyslog wrote: RFC 5424 header, then CEF ────────────────────────────────────

export interface Syslog5424 {
  pri: number;
  version: number;
  timestamp: string;
  hostname: string;
  appName: string;
  procId: string;
  msgId: string;
  msg: string;
}

/** RFC 5424 §6: PRI VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP STRUCTURED-DATA SP MSG. */
export function parse5424(line: string): Syslog5424 {
  const m = /^<(\d{1,3})>(\d) (\S+) (\S+) (\S+) (\S+) (\S+) (-|\[.*?\]) (.*)$/s.exec(line);
  if (!m) throw new Error(`not RFC 5424: ${line.slice(0, 120)}`);
  return {
    pri: Number(m[1]),
    version: Number(m[2]),
    timestamp: m[3] as string,
    hostname: m[4] as string,
    appName: m[5] as string,
    procId: m[6] as string,
    msgId: m[7] as string,
    msg: m[9] as string,
  };
}

export interface Cef {
  version: number;
  vendor: string;
  product: string;
  deviceVersion: string;
  classId: string;
  name: string;
  severity: number;
  ext: Record<string, string>;
}

/**
 * CEF as ArcSight's spec defines it, read character by character: seven header fields split on unescaped pipes
 * (\| and \\ unescaped), then extensions: a key is [A-Za-z0-9_] up to '='; its value runs to the last space
 * before the next unescaped `key=`; values unescape \= \\ \n \r.
 */
export function parseCef(text: string): Cef {
  if (!text.startsWith('CEF:')) throw new Error(`not CEF: ${text.slice(0, 60)}`);
  const fields: string[] = [];
  let cur = '';
  let i = 4;
  while (i < text.length && fields.length < 7) {
    const c = text[i] as string;
    if (c === '\\' && (text[i + 1] === '|' || text[i + 1] === '\\')) {
      cur += text[i + 1];
      i += 2;
      continue;
    }
    if (c === '|') {
      fields.push(cur);
      cur = '';
      i++;
      continue;
    }
    cur += c;
    i++;
  }
  if (fields.length !== 7) throw new Error(`CEF header has ${fields.length} fields`);
  const rest = text.slice(i);
  const ext: Record<string, string> = {};
  // Positions of unescaped "key=" at a word start.
  const starts: { key: string; at: number; valueAt: number }[] = [];
  const re = /(?:^| )([A-Za-z0-9_]+)=/g;
  for (let m = re.exec(rest); m; m = re.exec(rest)) {
    const keyAt = m.index + (m[0].startsWith(' ') ? 1 : 0);
    // An '=' preceded by a backslash is part of a value.
    let bs = 0;
    for (let k = m.index + m[0].length - 2; k >= 0 && rest[k] === '\\'; k--) bs++;
    if (bs % 2 === 1) continue;
    starts.push({ key: m[1] as string, at: keyAt, valueAt: m.index + m[0].length });
  }
  for (let k = 0; k < starts.length; k++) {
    const s = starts[k] as { key: string; valueAt: number };
    const end = k + 1 < starts.length ? (starts[k + 1] as { at: number }).at - 1 : rest.length;
    const raw = rest.slice(s.valueAt, end);
    ext[s.key] = raw.replace(/\\(.)/g, (_, ch: string) => (ch === 'n' ? '\n' : ch === 'r' ? '\r' : ch));
  }
  const [ver, vendor, product, deviceVersion, classId, name, sev] = fields as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  return { version: Number(ver), vendor, product, deviceVersion, classId, name, severity: Number(sev), ext };
}
