import type { AlertChannel, AlertMessage, DeliveryAttempt, DeliveryOutcome } from '@ft/sdk';
import { DeliveryHttp, networkOutcome, type HttpAnswer } from '@ft/http-vendor';

/**
 * The shape most HTTP channels share: one origin's keep-alive pool, one or more requests per message, each
 * answer read into an outcome. A network failure is a retry.
 */
export abstract class HttpChannel implements AlertChannel {
  protected readonly http: DeliveryHttp;

  constructor(origin: URL | string, o: { timeoutMs?: number; refusePrivate?: boolean } = {}) {
    this.http = new DeliveryHttp({
      origin: typeof origin === 'string' ? origin : origin.origin,
      ...(o.timeoutMs ? { answerTimeoutMs: o.timeoutMs } : {}),
      ...(o.refusePrivate ? { refusePrivate: true } : {}),
    });
  }

  abstract describe(): string;
  protected abstract deliver(m: AlertMessage, a: DeliveryAttempt): Promise<DeliveryOutcome>;

  async send(m: AlertMessage, a: DeliveryAttempt): Promise<DeliveryOutcome> {
    try {
      return await this.deliver(m, a);
    } catch (err) {
      return networkOutcome(err);
    }
  }

  protected post(
    path: string,
    body: string,
    headers: Record<string, string>,
    signal: AbortSignal,
  ): Promise<HttpAnswer> {
    return this.http.send({ method: 'POST', path, headers, body }, signal);
  }

  /**
   * Several requests for one message, in order (PagerDuty trigger then resolve, Opsgenie create then note): the
   * first that does not go through is the message's outcome, and a retry sends them all again (each service's
   * dedup key makes that harmless).
   */
  protected async postAll(
    requests: { path: string; body: string; headers: Record<string, string> }[],
    read: (a: HttpAnswer) => DeliveryOutcome,
    signal: AbortSignal,
  ): Promise<DeliveryOutcome> {
    let last: DeliveryOutcome = { result: 'delivered' };
    for (const r of requests) {
      last = read(await this.post(r.path, r.body, r.headers, signal));
      if (last.result !== 'delivered') return last;
    }
    return last;
  }

  warm(signal: AbortSignal): Promise<void> {
    return this.http.warm(signal);
  }

  close(): Promise<void> {
    return this.http.close();
  }
}
