/** One field of a template: information element id, length on the wire (65535 = variable), enterprise (0 = IETF). */
export interface FieldSpec {
  id: number;
  length: number;
  enterprise: number;
  /** What the decoder does with the field (a small dense number, 0 = skip), worked out once per template. */
  action: number;
}

export interface Template {
  id: number;
  fields: FieldSpec[];
  /** Options templates describe metadata (sampling rates) rather than flows. */
  options: boolean;
  /** Scope field count (options templates): scope fields come first. */
  scopeCount: number;
  /** Bytes one record takes when no field is variable-length; otherwise the minimum (1 byte per variable field). */
  minRecordLength: number;
  variable: boolean;
  learnedAt: number;
  /** Set for the fixed-length IPv4 flow templates the decoder reads without walking fields (templated.ts). */
  fixed?: FixedLayout;
}

/**
 * Where each field the decoder reads sits in a record (per field action: byte offset, -1 when the template has
 * none, and length), and the record's length.
 */
export interface FixedLayout {
  recordLength: number;
  at: Int32Array;
  len: Int32Array;
}

export interface TemplateCacheOptions {
  /** Templates not refreshed for this long are forgotten (exporters resend every few seconds to minutes). */
  expiryMs: number;
  /** Across all exporters: when full the least recently refreshed template goes first. */
  maxTemplates: number;
  /** Sampling state (per exporter + domain) kept for at most this many exporter/domain pairs. */
  maxSamplingDomains: number;
  /** Per exporter/domain, distinct sampler ids remembered. */
  maxSamplersPerDomain: number;
}

export const DEFAULT_TEMPLATE_CACHE: TemplateCacheOptions = {
  expiryMs: 30 * 60_000,
  maxTemplates: 8192,
  maxSamplingDomains: 4096,
  maxSamplersPerDomain: 256,
};

interface SamplingState {
  /** Rate announced without a sampler id: applies to the whole exporter/domain. */
  rate?: number;
  bySampler: Map<number, number>;
}

export type TemplateKind = 'netflow9' | 'ipfix';

/**
 * Template and sampling state for v9/IPFIX, keyed by exporter + source id/observation domain + template id (never
 * by template id alone: two routers both use 256). Bounded: a hostile or broken exporter cannot grow it without
 * limit. Pure state: `now` is passed in, nothing here does I/O or sets timers.
 */
export class TemplateCache {
  readonly options: TemplateCacheOptions;
  private readonly templates = new Map<string, Template>();
  private readonly sampling = new Map<string, SamplingState>();
  evictions = 0;
  expirations = 0;

  constructor(options: Partial<TemplateCacheOptions> = {}) {
    this.options = { ...DEFAULT_TEMPLATE_CACHE, ...options };
  }

  static key(kind: TemplateKind, exporter: string, domain: number, id: number): string {
    return `${kind}|${exporter}|${domain}|${id}`;
  }

  get size(): number {
    return this.templates.size;
  }

  get(key: string, now: number): Template | undefined {
    const t = this.templates.get(key);
    if (t === undefined) return undefined;
    if (now - t.learnedAt > this.options.expiryMs) {
      this.templates.delete(key);
      this.expirations++;
      return undefined;
    }
    return t;
  }

  set(key: string, template: Template): void {
    // Re-inserting moves it to the end: Map order is refresh order, so the first entry is the stalest.
    this.templates.delete(key);
    this.templates.set(key, template);
    while (this.templates.size > this.options.maxTemplates) {
      const oldest = this.templates.keys().next().value as string;
      this.templates.delete(oldest);
      this.evictions++;
    }
  }

  delete(key: string): boolean {
    return this.templates.delete(key);
  }

  /** IPFIX "withdraw all": every template (or every options template) of one exporter/domain. */
  deleteAll(kind: TemplateKind, exporter: string, domain: number, options: boolean): number {
    const prefix = `${kind}|${exporter}|${domain}|`;
    let n = 0;
    for (const [k, t] of this.templates) {
      if (k.startsWith(prefix) && t.options === options) {
        this.templates.delete(k);
        n++;
      }
    }
    return n;
  }

  /** Templates of one exporter (all domains), for `ft flow listen --json` and health. */
  countFor(exporter: string): number {
    let n = 0;
    for (const k of this.templates.keys()) if (k.split('|')[1] === exporter) n++;
    return n;
  }

  samplingRate(
    kind: TemplateKind,
    exporter: string,
    domain: number,
    samplerId: number | undefined,
  ): number | undefined {
    const s = this.sampling.get(`${kind}|${exporter}|${domain}`);
    if (s === undefined) return undefined;
    if (samplerId !== undefined) {
      const r = s.bySampler.get(samplerId);
      if (r !== undefined) return r;
    }
    return s.rate;
  }

  setSamplingRate(
    kind: TemplateKind,
    exporter: string,
    domain: number,
    samplerId: number | undefined,
    rate: number,
  ): void {
    const key = `${kind}|${exporter}|${domain}`;
    let s = this.sampling.get(key);
    if (s === undefined) {
      s = { bySampler: new Map() };
      this.sampling.set(key, s);
      while (this.sampling.size > this.options.maxSamplingDomains)
        this.sampling.delete(this.sampling.keys().next().value as string);
    }
    if (samplerId === undefined) s.rate = rate;
    else {
      s.bySampler.delete(samplerId);
      s.bySampler.set(samplerId, rate);
      while (s.bySampler.size > this.options.maxSamplersPerDomain)
        s.bySampler.delete(s.bySampler.keys().next().value as number);
    }
  }
}
