import type { DeliveryAttempt, ExportOutcome, ExportRecord, ExportSink } from '@ft/sdk';
import { DeliveryHttp, networkOutcome, type HttpAnswer } from '@ft/http-vendor';

/** The shape HTTP sinks share: one origin's keep-alive pool, answers read into outcomes, network errors retried. */
export abstract class HttpSink implements ExportSink {
  protected readonly http: DeliveryHttp;

  constructor(origin: URL, o: { timeoutMs?: number; connections?: number } = {}) {
    this.http = new DeliveryHttp({
      origin: origin.origin,
      ...(o.timeoutMs ? { answerTimeoutMs: o.timeoutMs } : {}),
      ...(o.connections ? { connections: o.connections } : {}),
    });
  }

  abstract describe(): string;
  protected abstract deliver(records: readonly ExportRecord[], a: DeliveryAttempt): Promise<ExportOutcome>;

  async send(records: readonly ExportRecord[], a: DeliveryAttempt): Promise<ExportOutcome> {
    try {
      return await this.deliver(records, a);
    } catch (err) {
      return networkOutcome(err);
    }
  }

  protected post(
    path: string,
    body: string | Buffer,
    headers: Record<string, string>,
    signal: AbortSignal,
  ): Promise<HttpAnswer> {
    return this.http.send({ method: 'POST', path, headers, body }, signal);
  }

  warm(signal: AbortSignal): Promise<void> {
    return this.http.warm(signal);
  }

  close(): Promise<void> {
    return this.http.close();
  }
}

/** A JSON body's object, read defensively (error answers are not always JSON). */
export function jsonOf(text: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Path of a base URL joined with an API path. */
export const joinPath = (base: URL, path: string) => `${base.pathname.replace(/\/+$/, '')}${path}`;
