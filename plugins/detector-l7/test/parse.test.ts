import { expect } from 'chai';
import fc from 'fast-check';
import { isIP } from 'node:net';
import { detectFormat, FORMAT_NAMES, parserFor, type FormatSpec } from '../src/formats.js';
import type { HttpRecord } from '../src/record.js';
import { compileNginxFormat, FormatError } from '../src/template.js';

const utc = (iso: string) => Date.parse(iso);

// Lines as each server's documentation defines its format (field by field), not produced by the parser.
describe('l7 parsers: one table per format', () => {
  const cases: { format: FormatSpec; line: string; want: Partial<HttpRecord> | string }[] = [
    // nginx: log_format combined '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"'
    {
      format: 'nginx-combined',
      line: '203.0.113.7 - alice [10/Oct/2026:13:55:36 -0700] "GET /cart/add?id=12&x=1 HTTP/1.1" 302 154 "https://shop.example/" "Mozilla/5.0 (X11; Linux x86_64)"',
      want: {
        client: '203.0.113.7',
        time: utc('2026-10-10T20:55:36Z'),
        method: 'GET',
        path: '/cart/add',
        status: 302,
        bytes: 154,
        agent: 'Mozilla/5.0 (X11; Linux x86_64)',
      },
    },
    {
      format: 'nginx-combined',
      line: '2001:db8::42 - - [01/Jan/2027:00:00:00 +0000] "POST /api/login HTTP/2.0" 429 0 "-" "-"',
      want: {
        client: '2001:db8::42',
        time: utc('2027-01-01T00:00:00Z'),
        method: 'POST',
        path: '/api/login',
        status: 429,
        bytes: 0,
      },
    },
    // nginx escapes a quote inside a variable as \x22; an unparseable request (TLS on the HTTP port) still counts.
    {
      format: 'nginx-combined',
      line: '198.51.100.9 - - [22/Nov/2026:01:02:03 +0100] "\\x16\\x03\\x01\\x02\\x00\\x01" 400 157 "-" "a\\x22b"',
      want: {
        client: '198.51.100.9',
        time: utc('2026-11-22T00:02:03Z'),
        method: '-',
        path: '-',
        status: 400,
        agent: 'a\\x22b',
      },
    },
    {
      format: 'nginx-combined',
      line: '198.51.100.9 - - [22/Nov/2026:01:02:03 +0100] "GET / HTTP/1.1" 2000 157 "-" "x"',
      want: 'status',
    },
    {
      format: 'nginx-combined',
      line: '198.51.100.9 - - [32/Nov/2026:01:02:03 +0100] "GET / HTTP/1.1" 200 157 "-" "x"',
      want: 'time',
    },
    {
      format: 'nginx-combined',
      line: 'evil.example - - [22/Nov/2026:01:02:03 +0100] "GET / HTTP/1.1" 200 157 "-" "x"',
      want: 'client',
    },
    { format: 'nginx-combined', line: '198.51.100.9 - - [22/Nov/2026:01:02:03 +0100] "GET / HTTP/1.1', want: 'shape' },
    // Apache: LogFormat "%h %l %u %t \"%r\" %>s %b" common — %b is "-" for an empty body
    {
      format: 'apache-common',
      line: '192.0.2.10 - frank [10/Oct/2026:13:55:36 +0200] "GET /apache_pb.gif HTTP/1.0" 200 -',
      want: {
        client: '192.0.2.10',
        time: utc('2026-10-10T11:55:36Z'),
        method: 'GET',
        path: '/apache_pb.gif',
        status: 200,
        bytes: 0,
      },
    },
    // Apache combined: Apache escapes a quote in %r as \"
    {
      format: 'apache-combined',
      line: '192.0.2.11 - - [10/Oct/2026:13:55:36 +0000] "GET /a\\" b HTTP/1.1" 404 209 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)"',
      want: {
        client: '192.0.2.11',
        method: 'GET',
        path: '/a\\"',
        status: 404,
        bytes: 209,
        agent: 'Mozilla/4.08 [en] (Win98; I ;Nav)',
      },
    },
    // Debian apache2.conf: LogFormat "%v:%p %h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\"" vhost_combined
    {
      format: 'apache-vhost-combined',
      line: 'Shop.Example:443 203.0.113.50 - - [22/Nov/2026:00:10:00 +0000] "GET /checkout HTTP/1.1" 503 299 "-" "curl/8.5.0"',
      want: {
        host: 'shop.example',
        port: 443,
        client: '203.0.113.50',
        time: utc('2026-11-22T00:10:00Z'),
        path: '/checkout',
        status: 503,
        bytes: 299,
        agent: 'curl/8.5.0',
      },
    },
    // OpenLiteSpeed without logFormat: Apache combined
    {
      format: 'litespeed',
      line: '198.51.100.77 - - [22/Nov/2026:00:10:00 -0500] "HEAD /wp-login.php HTTP/1.1" 200 0 "-" "python-requests/2.31"',
      want: {
        client: '198.51.100.77',
        time: utc('2026-11-22T05:10:00Z'),
        method: 'HEAD',
        path: '/wp-login.php',
        status: 200,
        agent: 'python-requests/2.31',
      },
    },
    // Caddy 2 http.log.access (JSON encoder, ts in epoch seconds)
    {
      format: 'caddy-json',
      line: JSON.stringify({
        level: 'info',
        ts: 1795309800.25,
        logger: 'http.log.access.log0',
        msg: 'handled request',
        request: {
          remote_ip: '203.0.113.9',
          remote_port: '51234',
          client_ip: '203.0.113.9',
          proto: 'HTTP/2.0',
          method: 'GET',
          host: 'blog.example',
          uri: '/feed?page=2',
          headers: { 'User-Agent': ['Go-http-client/2.0'] },
        },
        bytes_read: 0,
        duration: 0.0011,
        size: 5120,
        status: 200,
        resp_headers: {},
      }),
      want: {
        client: '203.0.113.9',
        host: 'blog.example',
        time: 1795309800250,
        method: 'GET',
        path: '/feed',
        status: 200,
        bytes: 5120,
        agent: 'Go-http-client/2.0',
      },
    },
    // Caddy before 2.5: remote_addr "ip:port"; ISO time with a time_format
    {
      format: 'caddy-json',
      line: '{"level":"info","ts":"2026-11-22T00:10:00.5Z","request":{"remote_addr":"[2001:db8::9]:4444","method":"PUT","host":"blog.example:8443","uri":"/x"},"status":201,"size":3}',
      want: {
        client: '2001:db8::9',
        host: 'blog.example',
        time: utc('2026-11-22T00:10:00.500Z'),
        method: 'PUT',
        path: '/x',
        status: 201,
        bytes: 3,
      },
    },
    { format: 'caddy-json', line: '{"ts":1,"request":{"remote_ip":"203.0.113.9"', want: 'json' },
    // HAProxy `option httplog` as in its configuration manual (syslog header in front, captured headers)
    {
      format: 'haproxy-http',
      line: 'Nov 22 00:10:00 lb1 haproxy[14389]: 192.0.2.33:33317 [22/Nov/2026:00:10:00.655] www-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 {shop.example} {} "GET /index.html?a=b HTTP/1.1"',
      want: { client: '192.0.2.33', host: 'www-in', method: 'GET', path: '/index.html', status: 200, bytes: 2750 },
    },
    // RFC 5424 header with structured data in brackets before the client
    {
      format: 'haproxy-http',
      line: '<134>1 2026-11-22T00:10:00Z lb1 haproxy 14389 - [meta sequenceId="1"] 198.51.100.4:5555 [22/Nov/2026:00:10:00.001] www-in static/srv1 0/0/0/1/1 404 10 - - ---- 1/1/1/1/0 0/0 "GET /nope HTTP/1.1"',
      want: { client: '198.51.100.4', host: 'www-in', path: '/nope', status: 404 },
    },
    // `log stdout format raw`: no syslog header; IPv6 client
    {
      format: 'haproxy-http',
      line: '2001:db8::7:40000 [22/Nov/2026:00:10:01.000] api-in api/srv2 0/0/1/2/3 504 194 - - sH-- 5/5/0/0/0 0/0 "POST /v1/orders HTTP/1.1"',
      want: { client: '2001:db8::7', host: 'api-in', method: 'POST', path: '/v1/orders', status: 504, bytes: 194 },
    },
  ];

  for (const c of cases) {
    it(`${typeof c.format === 'string' ? c.format : 'log_format'}: ${typeof c.want === 'string' ? `skips (${c.want})` : 'reads'} ${c.line.slice(0, 60)}…`, () => {
      const got = parserFor(c.format)(c.line);
      if (typeof c.want === 'string') expect(got).to.equal(c.want);
      else expect(got).to.be.an('object').that.includes(c.want);
    });
  }

  it('HAProxy accept dates carry no zone: they are read in the machine zone', () => {
    const got = parserFor('haproxy-http')(
      '192.0.2.33:1 [22/Nov/2026:00:10:00.000] f b/s 0/0/0/0/0 200 1 - - ---- 1/1/1/1/0 0/0 "GET / HTTP/1.1"',
    ) as HttpRecord;
    expect(got.time).to.equal(new Date(2026, 10, 22, 0, 10, 0).getTime());
  });

  it('nginx log_format given in the config: JSON-ish, ISO time, $host, fields in any order', () => {
    const spec = {
      nginx:
        '{"t":"$time_iso8601","ip":"$remote_addr","h":"$host","m":"$request_method","u":"$request_uri","s":$status,"b":$bytes_sent,"rt":$request_time,"ua":"$http_user_agent"}',
    };
    const line =
      '{"t":"2026-11-22T01:10:00+01:00","ip":"203.0.113.5","h":"api.example","m":"DELETE","u":"/v2/item/7?force=1","s":204,"b":120,"rt":0.004,"ua":"k6/0.50"}';
    expect(parserFor(spec)(line)).to.deep.include({
      time: utc('2026-11-22T00:10:00Z'),
      client: '203.0.113.5',
      host: 'api.example',
      method: 'DELETE',
      path: '/v2/item/7',
      status: 204,
      bytes: 120,
      agent: 'k6/0.50',
    });
  });

  it('nginx log_format with $msec and a trailing field', () => {
    const spec = { nginx: '$msec $remote_addr "$request" $status $body_bytes_sent $upstream_response_time' };
    expect(parserFor(spec)('1795309800.123 192.0.2.1 "GET /q HTTP/1.1" 200 5 0.010')).to.deep.include({
      time: 1795309800123,
      path: '/q',
      status: 200,
      bytes: 5,
    });
  });

  it('refuses a log_format it could not split or that lacks what detection needs, saying what', () => {
    expect(() => compileNginxFormat('$remote_addr$remote_user [$time_local] "$request" $status')).to.throw(
      FormatError,
      /directly followed/,
    );
    expect(() => compileNginxFormat('$remote_addr [$time_local] "$request"')).to.throw(FormatError, /\$status/);
    expect(() => compileNginxFormat('$remote_addr [$time_local] $status')).to.throw(FormatError, /\$request/);
  });
});

describe('l7 parsers: a client field that is not an address skips the line (docs/l7.md, Bad lines)', () => {
  // One valid line per format with CLIENT where the server writes the client address (each server's documented
  // layout, as in the table above).
  const templates: Record<string, string> = {
    'nginx-combined': 'CLIENT - - [22/Nov/2026:01:10:00 +0100] "GET / HTTP/1.1" 200 1 "-" "x"',
    'apache-common': 'CLIENT - - [22/Nov/2026:01:10:00 +0100] "GET / HTTP/1.0" 200 -',
    'apache-combined': 'CLIENT - - [22/Nov/2026:01:10:00 +0100] "GET / HTTP/1.0" 200 9 "-" "x"',
    'apache-vhost-combined': 'shop.example:80 CLIENT - - [22/Nov/2026:01:10:00 +0100] "GET / HTTP/1.0" 200 9 "-" "x"',
    litespeed: 'CLIENT - - [22/Nov/2026:01:10:00 +0100] "GET / HTTP/1.1" 200 9 "-" "x"',
    'caddy-json':
      '{"ts":1795309800.2,"request":{"client_ip":"CLIENT","method":"GET","host":"a.example","uri":"/"},"status":200,"size":1}',
    'haproxy-http':
      'CLIENT:33317 [22/Nov/2026:00:10:00.655] www-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 "GET / HTTP/1.1"',
  };
  const notAddresses = [
    '999.1.1.1',
    '1.2.3.4.5',
    '1:2:3:4:5:6:7:8:9',
    '256.0.0.1',
    '1.2.3',
    '010.1.1.1',
    '2001:db8:::1',
  ];
  const addresses = ['192.0.2.1', '2001:db8::7', '::ffff:192.0.2.9', '1:2:3:4:5:6:7:8'];
  for (const [format, template] of Object.entries(templates)) {
    it(`${format}: skips ${notAddresses.join(', ')} as "client"; reads real IPv4/IPv6 clients`, () => {
      const parse = parserFor(format as FormatSpec);
      for (const bad of notAddresses) expect(parse(template.replace('CLIENT', bad)), bad).to.equal('client');
      for (const good of addresses)
        expect(parse(template.replace('CLIENT', good)), good)
          .to.be.an('object')
          .that.includes({ client: good });
    });
  }
});

describe('l7 format auto-detect', () => {
  const lines: Record<string, string> = {
    'nginx-combined': '203.0.113.7 - - [10/Oct/2026:13:55:36 -0700] "GET / HTTP/1.1" 200 1 "-" "x"',
    'apache-common': '192.0.2.10 - frank [10/Oct/2026:13:55:36 +0200] "GET / HTTP/1.0" 200 -',
    'apache-vhost-combined':
      'shop.example:80 192.0.2.10 - - [10/Oct/2026:13:55:36 +0200] "GET / HTTP/1.0" 200 9 "-" "x"',
    'caddy-json':
      '{"ts":1795309800.2,"request":{"remote_ip":"192.0.2.1","method":"GET","host":"a.example","uri":"/"},"status":200,"size":1}',
    'haproxy-http':
      '192.0.2.33:33317 [22/Nov/2026:00:10:00.655] www-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 "GET / HTTP/1.1"',
  };
  for (const [format, line] of Object.entries(lines)) {
    it(`names ${format} from its lines, even with a garbled one among them`, () => {
      expect(detectFormat([line, line, 'garbage \x00\x01', line])).to.deep.include({ format, parsed: 3, tried: 4 });
    });
  }
  it('names nothing when no format parses half the lines', () => {
    expect(detectFormat(['hello', 'world', '192.0.2.1 oops'])).to.equal(undefined);
    expect(detectFormat([])).to.equal(undefined);
  });
});

describe('l7 parsers: hostile lines (properties)', () => {
  const hostile = fc.oneof(
    fc.string({ maxLength: 400 }),
    fc.string({ unit: 'binary', maxLength: 400 }),
    fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b).toString('latin1')),
  );
  const valid = '203.0.113.7 - - [10/Oct/2026:13:55:36 -0700] "GET /a HTTP/1.1" 200 1 "-" "x"';
  for (const format of [
    ...FORMAT_NAMES,
    { nginx: '$remote_addr [$time_local] "$request" $status "$http_user_agent" $host' },
  ] as FormatSpec[]) {
    it(`${typeof format === 'string' ? format : 'log_format'}: any text gives a record with sane fields or a skip reason, never a throw`, () => {
      const parse = parserFor(format);
      fc.assert(
        fc.property(hostile, fc.nat({ max: valid.length }), fc.boolean(), (junk, cut, splice) => {
          const line = splice ? valid.slice(0, cut) + junk + valid.slice(cut) : junk;
          const r = parse(line);
          if (typeof r === 'string') return;
          expect(r.status).to.be.within(100, 599);
          expect(Number.isFinite(r.time)).to.equal(true);
          expect(r.bytes).to.be.at.least(0);
          expect(r.path.length).to.be.at.most(256);
          expect(r.client).to.match(/^[0-9a-fA-F.:]+$/);
          expect(isIP(r.client), `client ${r.client} is an address`).to.not.equal(0);
        }),
        { numRuns: 300 },
      );
    });
  }
  it('a 1 MB line with broken quotes is skipped', () => {
    const huge = `203.0.113.7 - - [10/Oct/2026:13:55:36 -0700] "GET /${'"'.repeat(1 << 20)}`;
    expect(parserFor('nginx-combined')(huge)).to.be.a('string');
  });
});
