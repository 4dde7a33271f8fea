import type { PluginContext } from '@ft/sdk';
import { VendorClient, commonErrorMessage, type VendorRequest } from './client.js';
import { VendorHttpError } from './errors.js';
import { credential } from './util.js';

export const CLOUDFLARE_API = 'https://api.cloudflare.com/client/v4';

/** Cloudflare's v4 envelope: `{success, errors[{code,message}], messages, result}`. */
export interface CfEnvelope<T> {
  success: boolean;
  errors: { code: number; message: string }[];
  result: T;
  result_info?: { page: number; per_page: number; total_pages?: number; count: number; total_count?: number };
}

/** A Cloudflare API client (Bearer token) that unwraps the envelope and treats `success:false` as an error. */
export class CloudflareClient {
  readonly http: VendorClient;
  constructor(opts: {
    baseUrl: string;
    tokenRef: string;
    timeoutMs: number;
    retries: number;
    ctx: PluginContext;
    vendor: string;
  }) {
    const token = credential(opts.ctx, opts.tokenRef);
    this.http = new VendorClient({
      vendor: opts.vendor,
      baseUrl: opts.baseUrl,
      timeoutMs: opts.timeoutMs,
      retries: opts.retries,
      logger: opts.ctx.logger,
      signal: opts.ctx.signal,
      authorize: (r) => void (r.headers.authorization = `Bearer ${token().reveal()}`),
      errorMessage: commonErrorMessage,
    });
  }

  async call<T>(req: VendorRequest): Promise<{ result: T; status: number; info?: CfEnvelope<T>['result_info'] }> {
    const res = await this.http.request<CfEnvelope<T>>(req);
    const env = res.body;
    if (res.status < 300 && (!env || env.success !== true)) {
      throw new VendorHttpError(
        this.http.vendor,
        req.method,
        req.path.split('?')[0]!,
        res.status,
        commonErrorMessage(res.status, env) ?? 'success:false without errors',
        res.attempts,
        'client',
      );
    }
    return { result: env?.result, status: res.status, info: env?.result_info };
  }
}
