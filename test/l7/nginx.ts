import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Daemon } from '../helpers/daemon.js';
import { freePort } from '../helpers/net.js';
import { waitFor } from '../helpers/wait.js';

/** Debian's nginx on a free loopback port, with its config, pid, logs and temp dirs in its own temp dir. */
export class TestNginx {
  /**
   * clientFromHeader: nginx takes the client address from X-Forwarded-For sent from loopback (the realip module, as
   * behind a load balancer), so tests can give their clients documentation addresses instead of 127/8, which ft
   * rightly never puts in a block list.
   */
  constructor(private readonly options: { clientFromHeader?: boolean } = {}) {}

  readonly dir = mkdtempSync(join(tmpdir(), 'ft-l7-nginx-'));
  readonly accessLog = join(this.dir, 'access.log');
  port = 0;
  private daemon: Daemon | undefined;

  async start(): Promise<void> {
    this.port = await freePort();
    const d = this.dir;
    // Workers run as nobody: on USR1 they reopen the logs themselves, so they must be able to pass through the dir.
    chmodSync(d, 0o711);
    const conf = [
      'worker_processes 1;',
      `pid ${d}/nginx.pid;`,
      `error_log ${d}/error.log warn;`,
      'events { worker_connections 256; }',
      'http {',
      `  client_body_temp_path ${d}/body; proxy_temp_path ${d}/proxy; fastcgi_temp_path ${d}/fastcgi;`,
      `  uwsgi_temp_path ${d}/uwsgi; scgi_temp_path ${d}/scgi;`,
      `  access_log ${this.accessLog} combined;`,
      '  keepalive_requests 100000;',
      `  server { listen 127.0.0.1:${this.port}; server_name shop.example;`,
      ...(this.options.clientFromHeader ? ['    set_real_ip_from 127.0.0.0/8; real_ip_header X-Forwarded-For;'] : []),
      '    location / { return 200 "ok\\n"; } }',
      '}',
    ].join('\n');
    writeFileSync(join(d, 'nginx.conf'), conf);
    this.daemon = new Daemon([
      'nginx',
      '-p',
      `${d}/`,
      '-e',
      `${d}/error.log`,
      '-c',
      join(d, 'nginx.conf'),
      '-g',
      'daemon off;',
    ]);
    await waitFor(async () => (await this.get('/ready', '127.0.0.1').catch(() => undefined)) === 200, {
      timeoutMs: 10_000,
      what: `nginx on port ${this.port}: ${this.daemon.output}`,
    });
    // nginx logs after it has answered: wait for the probe's line, so tests start from a settled log.
    await waitFor(() => existsSync(this.accessLog) && readFileSync(this.accessLog, 'latin1').includes('GET /ready '), {
      timeoutMs: 5000,
      what: 'the probe in the access log',
    });
  }

  /**
   * One GET from `localAddress` (a loopback address, so the log shows which client it was), or, with
   * clientFromHeader, claiming to be `forwardedFor`.
   */
  get(path: string, localAddress: string, forwardedFor?: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: this.port,
          path,
          localAddress,
          agent: false,
          headers: {
            'user-agent': 'slow-client/1.0',
            ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}),
          },
          timeout: 5000,
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.end();
    });
  }

  /** What logrotate's postrotate does for nginx: USR1 makes the master reopen its log files. */
  reopenLogs(): void {
    const pid = Number(readFileSync(join(this.dir, 'nginx.pid'), 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 1) throw new Error('no nginx pid');
    process.kill(pid, 'SIGUSR1');
  }

  async stop(): Promise<void> {
    await this.daemon?.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A bounded wrk run (it connects from 127.0.0.1; with `forwardedFor` it claims that client address for a
 * clientFromHeader nginx): -t 1, few connections, a few seconds, and a hard timeout.
 */
export function wrkArgv(port: number, path: string, seconds: number, connections = 4, forwardedFor?: string): string[] {
  if (!Number.isInteger(port) || port <= 0 || port > 65535 || !/^\/[A-Za-z0-9/_-]*$/.test(path))
    throw new Error('bad wrk target');
  return [
    'timeout',
    String(seconds + 10),
    'wrk',
    '-t',
    '1',
    '-c',
    String(connections),
    '-d',
    `${seconds}s`,
    '--timeout',
    '2s',
    ...(forwardedFor ? ['-H', `X-Forwarded-For: ${forwardedFor}`] : []),
    `http://127.0.0.1:${port}${path}`,
  ];
}
