import { Prefix } from '../prefix.js';

export class HostPortError extends Error {
  constructor(
    readonly input: string,
    reason: string,
  ) {
    super(`${JSON.stringify(input)} ${reason}`);
    this.name = 'HostPortError';
  }
}

export interface HostPort {
  /** An IPv4 or IPv6 address (IPv6 without brackets) or a host name; '' for a wildcard (":50051"). */
  host: string;
  port: number;
  /** 4 or 6 for an address, 0 for a name or the wildcard. */
  family: 0 | 4 | 6;
}

export interface HostPortOptions {
  /** Accept host names (rtr.example.net:8282); default true. */
  hostnames?: boolean;
  /** Accept ":PORT" (every address) as listeners write it; default false. */
  wildcard?: boolean;
  /** Accept port 0 (pick a free one); default false. */
  portZero?: boolean;
}

const NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/**
 * The one HOST:PORT parser: "192.0.2.1:179", "[2001:db8::1]:179" (IPv6 always in brackets: "2001:db8::1:179" is
 * ambiguous), "rtr.example.net:8282". Addresses are checked as ft checks every address (dotted quad only), names
 * as DNS names. Throws HostPortError saying what was expected.
 */
export function parseHostPort(text: string, options: HostPortOptions = {}): HostPort {
  const t = text.trim();
  const colon = t.lastIndexOf(':');
  const expected = `is not HOST:PORT (e.g. 192.0.2.1:179, [2001:db8::1]:179${options.hostnames === false ? '' : ', rtr.example.net:8282'})`;
  if (colon < 0) throw new HostPortError(text, expected);
  const hostText = t.slice(0, colon);
  const portText = t.slice(colon + 1);
  if (!/^[0-9]{1,5}$/.test(portText))
    throw new HostPortError(text, `has no port number after the last ":" (${expected.slice(7)})`);
  const port = Number(portText);
  if (port > 65535 || (port === 0 && !options.portZero))
    throw new HostPortError(text, `has port ${port}, out of range (expected 1-65535)`);
  if (hostText === '' || hostText === '[::]' || hostText === '0.0.0.0') {
    if (hostText === '' && !options.wildcard) throw new HostPortError(text, expected);
    return {
      host: hostText === '' ? '' : hostText === '[::]' ? '::' : '0.0.0.0',
      port,
      family: hostText === '' ? 0 : hostText === '[::]' ? 6 : 4,
    };
  }
  if (hostText.startsWith('[')) {
    if (!hostText.endsWith(']')) throw new HostPortError(text, expected);
    const addr = hostText.slice(1, -1);
    if (!addr.includes(':') || !isHostAddress(addr, 6))
      throw new HostPortError(text, `has "${addr}" in brackets, which is not an IPv6 address`);
    return { host: addr, port, family: 6 };
  }
  if (hostText.includes(':'))
    throw new HostPortError(text, `is IPv6 without brackets: write [${hostText}]:${portText}`);
  if (/^[0-9.]+$/.test(hostText)) {
    if (!isHostAddress(hostText, 4)) throw new HostPortError(text, `has "${hostText}", which is not an IPv4 address`);
    return { host: hostText, port, family: 4 };
  }
  if (options.hostnames === false || !NAME.test(hostText))
    throw new HostPortError(
      text,
      options.hostnames === false ? `${expected}: a host name is not accepted here` : expected,
    );
  return { host: hostText, port, family: 0 };
}

/** "192.0.2.1:179", "[2001:db8::1]:179". */
export function formatHostPort(hp: { host: string; port: number }): string {
  return hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}

function isHostAddress(text: string, family: 4 | 6): boolean {
  try {
    const p = Prefix.parse(text);
    return p.isHost && p.family === family && !text.includes('/');
  } catch {
    return false;
  }
}
