import type { PluginContext, Secret } from '@ft/sdk';
import { z } from 'zod';

export type CredentialResolver = () => Secret;

/**
 * Resolves a credential by name on first use, not at create(): preview builds instances to render and must
 * work without the credential being present on the machine that previews.
 */
export function credential(ctx: PluginContext, ref: string): CredentialResolver {
  let cached: Secret | undefined;
  return () => (cached ??= ctx.secret(ref));
}

const safeScheme = (u: string) => {
  const url = new URL(u);
  return (
    url.protocol === 'https:' ||
    (url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname))
  );
};
const SCHEME_MESSAGE = 'must be https (plain http only to a loopback address, for tests)';

/** A vendor base URL: https in production; plain http only on loopback (the local fakes tests run against). */
export const httpBase = (fallback: string) => z.string().url().default(fallback).refine(safeScheme, SCHEME_MESSAGE);

/** The same, for on-premises controllers that have no default address. */
export const httpUrl = () => z.string().url().refine(safeScheme, SCHEME_MESSAGE);
