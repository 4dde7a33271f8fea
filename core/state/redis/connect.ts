import { settleWithin } from '@ft/sdk';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Redis, RedisOptions } from 'ioredis';
import { redactUrlCredentials } from '../../log/redact.js';

export class RedisUrlError extends Error {}

export interface RedisTarget {
  /** The URL with any password masked: the only form that may be logged or printed. */
  display: string;
  options: RedisOptions;
}

/**
 * redis://[user[:password]@]host[:port][/db] or rediss:// (TLS). A password may instead come from the environment
 * (FT_REDIS_PASSWORD by default) so it appears neither in argv nor in `ps`. With rediss://, the server certificate
 * is checked against the system CAs, or against the CA bundle in FT_REDIS_CA_FILE (a private CA). Parsed here, not by ioredis, so a
 * malformed URL is an error naming the URL (masked), and so nothing downstream ever holds the raw string.
 */
export function parseRedisUrl(
  url: string,
  env: NodeJS.ProcessEnv = process.env,
  passwordEnv = 'FT_REDIS_PASSWORD',
): RedisTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new RedisUrlError(
      `--redis ${maskUserinfo(url)}: not a URL (expected redis://[user:password@]host:port[/db] or rediss://…)`,
    );
  }
  // Built from the parsed parts, never from the raw text: whatever the text holds, only these can be shown.
  const userinfo = u.username || u.password ? `${u.username}${u.password ? ':[REDACTED]' : ''}@` : '';
  const display = `${u.protocol}//${userinfo}${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    throw new RedisUrlError(`--redis ${display}: the scheme must be redis:// or rediss:// (TLS)`);
  if (!u.hostname) throw new RedisUrlError(`--redis ${display}: no host`);
  const port = u.port ? Number(u.port) : 6379;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RedisUrlError(`--redis ${display}: bad port`);
  const dbText = u.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0 || db > 15)
    throw new RedisUrlError(`--redis ${display}: the path must be a database number 0-15`);
  const password = u.password ? decodeURIComponent(u.password) : env[passwordEnv] || undefined;
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const options: RedisOptions = {
    host,
    port,
    db,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(password ? { password } : {}),
    ...(u.protocol === 'rediss:'
      ? {
          tls: {
            ...(isIP(host) ? {} : { servername: host }),
            ...(env.FT_REDIS_CA_FILE ? { ca: readCa(env.FT_REDIS_CA_FILE, display) } : {}),
          },
        }
      : {}),
  };
  return { display, options };
}

/** Everything between the scheme and the last '@' goes: a text that is not even a URL may still hold a password. */
export function maskUserinfo(text: string): string {
  const masked = redactUrlCredentials(text);
  const at = masked.lastIndexOf('@');
  if (at < 0) return masked;
  const schemeEnd = masked.indexOf('://');
  const start = schemeEnd >= 0 && schemeEnd < at ? schemeEnd + 3 : 0;
  return `${masked.slice(0, start)}[REDACTED]@${masked.slice(at + 1)}`;
}

function readCa(file: string, display: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new RedisUrlError(
      `--redis ${display}: FT_REDIS_CA_FILE ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
    );
  }
}

/**
 * A connection. `blocking`: BullMQ workers and QueueEvents need maxRetriesPerRequest: null (their blocking commands
 * must wait out a Redis restart). Store connections fail a command after a few retries instead, so a controller
 * whose Redis is gone reports an error rather than hanging.
 */
export async function connectRedis(target: RedisTarget, role: string, blocking = false): Promise<Redis> {
  const { Redis: RedisClient } = await import('ioredis');
  const conn = new RedisClient({
    ...target.options,
    connectionName: `ft-${role}`,
    lazyConnect: false,
    enableOfflineQueue: true,
    maxRetriesPerRequest: blocking ? null : 3,
    retryStrategy: (times) => Math.min(times * 100, 2000),
  });
  // Connection errors surface as failed commands (and reconnects); without a listener ioredis prints each one.
  conn.on('error', () => undefined);
  return conn;
}

/** quit() when Redis answers, disconnect() when it does not: a close never waits on a dead server. */
export async function closeRedis(conn: Redis, ms = 2000): Promise<void> {
  await settleWithin(conn.quit(), ms);
  conn.disconnect();
}
