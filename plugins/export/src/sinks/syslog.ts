import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { isIPv6, connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import {
  defineExportSink,
  type DeliveryAttempt,
  type ExportOutcome,
  type ExportRecord,
  type ExportSink,
} from '@ft/sdk';
import { z } from 'zod';
import { toCef } from '../format/cef.js';
import { FACILITIES, clipBytes, octetCounted, rfc3164, rfc5424, type Facility } from '../format/syslog.js';
import { absolutePath, FT_VERSION } from '../options.js';

export const syslogConfigSchema = z
  .object({
    host: z.string().min(1).describe('The collector (rsyslog, syslog-ng, a SIEM connector, a Wazuh manager).'),
    port: z.number().int().min(1).max(65535).optional().describe('Default 514 (UDP, TCP) or 6514 (TLS).'),
    transport: z.enum(['udp', 'tcp', 'tls']).default('udp'),
    format: z
      .enum(['cef', 'json'])
      .default('cef')
      .describe('cef: ArcSight CEF in the message; json: the export record as JSON (Wazuh decodes it natively).'),
    framing: z.enum(['rfc5424', 'rfc3164']).default('rfc5424').describe('The syslog header.'),
    tcpFraming: z
      .enum(['octet-counting', 'lf'])
      .default('octet-counting')
      .describe('TCP only (TLS always counts octets, RFC 5425): RFC 6587 octet counting, or one message per line.'),
    facility: z.enum(Object.keys(FACILITIES) as [Facility, ...Facility[]]).default('local4'),
    appName: z
      .string()
      .regex(/^[\x21-\x7e]{1,48}$/)
      .default('ft'),
    hostname: z
      .string()
      .regex(/^[\x21-\x7e]{1,255}$/)
      .optional()
      .describe("Default: the ft node's name."),
    maxDatagram: z
      .number()
      .int()
      .min(480)
      .max(65000)
      .default(2048)
      .describe('UDP: a message is cut to this many bytes.'),
    tls: z
      .object({
        ca: absolutePath('PEM file of the CA that signed the collector certificate.').optional(),
        cert: absolutePath('PEM client certificate (mutual TLS).').optional(),
        key: absolutePath('PEM client key.').optional(),
        serverName: z.string().min(1).optional().describe('Name to check the certificate against (default: host).'),
      })
      .strict()
      .optional(),
  })
  .strict();
export type SyslogConfig = z.output<typeof syslogConfigSchema>;

/** One record as one syslog message (header + CEF or JSON). */
export function syslogMessage(r: ExportRecord, c: SyslogConfig): string {
  const msg =
    c.format === 'cef'
      ? toCef(r, { version: FT_VERSION, maxMsg: c.transport === 'udp' ? 512 : 2048 })
      : JSON.stringify({ ft: r });
  const common = {
    facility: c.facility,
    severity: r.severity,
    atMs: r.atMs,
    hostname: c.hostname ?? r.node,
    appName: c.appName,
    msg,
  };
  return c.framing === 'rfc5424' ? rfc5424({ ...common, msgId: r.type }) : rfc3164(common);
}

/** What goes on the wire for one message on this transport. */
export function frame(msg: string, c: SyslogConfig): string {
  if (c.transport === 'tls' || (c.transport === 'tcp' && c.tcpFraming === 'octet-counting')) return octetCounted(msg);
  if (c.transport === 'tcp') return `${msg.replace(/\n/g, ' ')}\n`;
  return msg;
}

const retry = (err: unknown): ExportOutcome => {
  const e = err as Error & { code?: string };
  return { result: 'retry', reason: `${e.code ? `${e.code}: ` : ''}${e.message || String(err)}` };
};

class SyslogSink implements ExportSink {
  private sock?: Socket;
  private udp?: UdpSocket;
  private dead = false;
  private readonly port: number;
  private readonly tlsFiles?: { ca?: Buffer; cert?: Buffer; key?: Buffer };

  constructor(private readonly c: SyslogConfig) {
    this.port = c.port ?? (c.transport === 'tls' ? 6514 : 514);
    if (c.transport === 'tls' && c.tls) {
      // Read at start: a missing certificate file stops ft with the sink's name, not at the first attack.
      this.tlsFiles = {
        ...(c.tls.ca ? { ca: readFileSync(c.tls.ca) } : {}),
        ...(c.tls.cert ? { cert: readFileSync(c.tls.cert) } : {}),
        ...(c.tls.key ? { key: readFileSync(c.tls.key) } : {}),
      };
    }
  }

  describe() {
    return `${this.c.transport}://${this.c.host}:${this.port} ${this.c.framing} ${this.c.format.toUpperCase()}`;
  }

  private connectStream(signal: AbortSignal): Promise<Socket> {
    if (this.sock && !this.dead && !this.sock.destroyed && this.sock.writable) return Promise.resolve(this.sock);
    this.sock?.destroy();
    this.dead = false;
    return new Promise<Socket>((resolve, reject) => {
      const s =
        this.c.transport === 'tls'
          ? tlsConnect({
              host: this.c.host,
              port: this.port,
              servername: this.c.tls?.serverName ?? this.c.host,
              ...this.tlsFiles,
            })
          : netConnect({ host: this.c.host, port: this.port });
      const ready = this.c.transport === 'tls' ? 'secureConnect' : 'connect';
      const onAbort = () => s.destroy(new Error('aborted'));
      signal.addEventListener('abort', onAbort, { once: true });
      s.once(ready, () => {
        signal.removeEventListener('abort', onAbort);
        s.setKeepAlive(true, 30_000);
        // A collector that closed its side (restart, shutdown) must not get our next batch into a dead socket.
        s.on('end', () => {
          this.dead = true;
          s.destroy();
        });
        s.on('error', () => (this.dead = true));
        s.on('close', () => (this.dead = true));
        // Collectors never answer; whatever arrives is read and discarded so the socket sees the peer's FIN.
        s.on('data', () => undefined);
        this.sock = s;
        resolve(s);
      });
      s.once('error', (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err instanceof Error ? err : new Error(String(err)));
      });
    });
  }

  private udpSocket(): Promise<UdpSocket> {
    if (this.udp) return Promise.resolve(this.udp);
    return new Promise((resolve, reject) => {
      const s = createSocket(isIPv6(this.c.host) ? 'udp6' : 'udp4');
      s.once('error', reject);
      // Connected: a receiver that is gone (ICMP port unreachable) fails the next send instead of nothing.
      s.connect(this.port, this.c.host, () => {
        s.removeListener('error', reject);
        s.on('error', () => {
          s.close();
          if (this.udp === s) this.udp = undefined;
        });
        this.udp = s;
        resolve(s);
      });
    });
  }

  async send(records: readonly ExportRecord[], a: DeliveryAttempt): Promise<ExportOutcome> {
    const messages = records.map((r) => syslogMessage(r, this.c));
    try {
      if (this.c.transport === 'udp') {
        const s = await this.udpSocket();
        for (const m of messages) {
          await new Promise<void>((resolve, reject) =>
            s.send(clipBytes(m, this.c.maxDatagram), (err) => (err ? reject(err) : resolve())),
          );
        }
        return { result: 'delivered', detail: `${messages.length} datagram(s)` };
      }
      const s = await this.connectStream(a.signal);
      const data = messages.map((m) => frame(m, this.c)).join('');
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => reject(new Error('aborted'));
        a.signal.addEventListener('abort', onAbort, { once: true });
        s.write(data, (err) => {
          a.signal.removeEventListener('abort', onAbort);
          if (err) reject(err);
          else resolve();
        });
      });
      return { result: 'delivered', detail: `${messages.length} message(s)` };
    } catch (err) {
      this.dead = true;
      if (this.udp) {
        this.udp.close();
        this.udp = undefined;
      }
      const e = err as Error & { code?: string };
      // A certificate the collector presents that does not verify is configuration, not an outage.
      if (/CERT|certificate|self.signed|UNABLE_TO_VERIFY/i.test(`${e.code ?? ''} ${e.message}`))
        return { result: 'dead', reason: `TLS: ${e.message}` };
      return retry(err);
    }
  }

  async warm(signal: AbortSignal): Promise<void> {
    if (this.c.transport === 'udp') await this.udpSocket();
    else await this.connectStream(signal);
  }

  async close(): Promise<void> {
    this.sock?.end();
    this.sock?.destroy();
    this.udp?.close();
    this.udp = undefined;
  }
}

export const syslog = defineExportSink<SyslogConfig>({
  kind: 'syslog',
  description:
    'Syslog (RFC 5424 or 3164) over UDP, TCP (octet counting) or TLS (RFC 5425), CEF or JSON messages (Wazuh too).',
  configSchema: syslogConfigSchema,
  batch: { maxRecords: 200, maxBytes: 512 * 1024 },
  rateLimit: { perSecond: 200, burst: 200 },
  repeats: 'a second message (CEF externalId and the record id tell duplicates apart)',
  async create(config) {
    return new SyslogSink(config);
  },
});
