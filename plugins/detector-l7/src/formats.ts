import { caddyParser } from './caddy.js';
import { haproxyParser } from './haproxy.js';
import type { LineParser } from './record.js';
import { compileNginxFormat, templateParser } from './template.js';

export const FORMAT_NAMES = [
  'nginx-combined',
  'apache-common',
  'apache-combined',
  'apache-vhost-combined',
  'caddy-json',
  'litespeed',
  'haproxy-http',
] as const;
export type FormatName = (typeof FORMAT_NAMES)[number];

/** A format as configured: a named one, or nginx's own log_format text. */
export type FormatSpec = FormatName | { nginx: string };

/**
 * The built-in NCSA-style formats, written as nginx log_format text (ft has one template scanner for all of
 * them). The names of the fields follow each server's documentation:
 *  - nginx `combined` (ngx_http_log_module, always defined)
 *  - Apache `LogFormat "%h %l %u %t \"%r\" %>s %b" common` and `… \"%{Referer}i\" \"%{User-Agent}i\"" combined`
 *  - Apache (Debian's apache2.conf) `LogFormat "%v:%p %h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\"" vhost_combined`
 *  - LiteSpeed / OpenLiteSpeed: without a `logFormat` its access log is written in Apache's combined format.
 */
const TEMPLATES: Record<Exclude<FormatName, 'caddy-json' | 'haproxy-http'>, string> = {
  'nginx-combined':
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"',
  'apache-common': '$remote_addr $ident $remote_user [$time_local] "$request" $status $body_bytes_sent',
  'apache-combined':
    '$remote_addr $ident $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"',
  'apache-vhost-combined':
    '$host:$server_port $remote_addr $ident $remote_user [$time_local] "$request" $status $bytes_sent "$http_referer" "$http_user_agent"',
  litespeed:
    '$remote_addr $ident $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"',
};

/** A fresh parser for `spec` (each has its own caches; use one per file). Throws FormatError on a bad log_format. */
export function parserFor(spec: FormatSpec): LineParser {
  if (typeof spec === 'object') return templateParser(compileNginxFormat(spec.nginx));
  if (spec === 'caddy-json') return caddyParser();
  if (spec === 'haproxy-http') return haproxyParser();
  return templateParser(compileNginxFormat(TEMPLATES[spec]));
}

export function describeFormat(spec: FormatSpec): string {
  return typeof spec === 'object' ? `nginx log_format "${spec.nginx}"` : spec;
}

/**
 * The candidates auto-detect tries, most specific first: combined lines also start like common ones, and nginx's
 * and Apache's combined formats are the same text (auto-detect names it nginx-combined).
 */
const AUTO_ORDER: FormatName[] = [
  'caddy-json',
  'apache-vhost-combined',
  'nginx-combined',
  'apache-common',
  'haproxy-http',
];

export interface Detection {
  format: FormatName;
  parsed: number;
  tried: number;
}

/**
 * Picks the format that parses most of `lines` (at least half of them); undefined when none does.
 * Lines the winner cannot parse are still counted as skipped by the caller.
 */
export function detectFormat(lines: readonly string[]): Detection | undefined {
  const sample = lines.filter((l) => l.length > 0).slice(0, 50);
  if (sample.length === 0) return undefined;
  let best: Detection | undefined;
  for (const format of AUTO_ORDER) {
    const parse = parserFor(format);
    let parsed = 0;
    for (const l of sample) if (typeof parse(l) === 'object') parsed++;
    if (parsed * 2 >= sample.length && parsed > 0 && (!best || parsed > best.parsed))
      best = { format, parsed, tried: sample.length };
  }
  return best;
}
