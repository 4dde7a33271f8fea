import type { PluginContext } from '@ft/sdk';
import { z } from 'zod';

/**
 * A credential as the policy names it: an environment variable name, never the value. Webhook URLs carry their
 * token (Slack, Discord, Teams `sig=`), so they are credentials too; a pasted URL is refused with the reason.
 */
export const credentialName = (what: string) =>
  z
    .string()
    .regex(
      /^[A-Za-z_][A-Za-z0-9_]*$/,
      'name the environment variable that holds it (webhook URLs and keys are secrets: never write them in the policy)',
    )
    .describe(`Name of the environment variable holding ${what}.`);

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** https, or plain http to a loopback address (the local fakes tests run against). */
export function checkedUrl(text: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`${what} is not a URL`);
  }
  if (url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname))) return url;
  throw new Error(`${what} must be an https URL (plain http only to a loopback address, for tests)`);
}

/** A URL option as written in the policy (not a secret: a service's base address). */
export const baseUrl = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .refine(
      (u) => {
        try {
          checkedUrl(u, 'url');
          return true;
        } catch {
          return false;
        }
      },
      { message: 'must be an https URL (plain http only to a loopback address, for tests)' },
    );

/** Resolves a secret URL from the environment now (create time): a missing or bad one stops ft at start. */
export function secretUrl(ctx: PluginContext, ref: string, what: string): URL {
  return checkedUrl(ctx.secret(ref).reveal(), `${what} (from ${ref})`);
}

/** The path and query of a URL, for a pool bound to its origin. */
export const pathOf = (u: URL) => `${u.pathname}${u.search}`;

/** HTML text (Telegram, email): the three characters that matter, and quotes for attributes. */
export const escapeHtml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Plain JSON for headers. */
export const JSON_HEADERS = { 'content-type': 'application/json', 'user-agent': 'ft-alerts' } as const;

/** A JSON body's field, read defensively (error answers are not always JSON). */
export function jsonOf(text: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
