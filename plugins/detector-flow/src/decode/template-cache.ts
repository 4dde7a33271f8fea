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
  /** Across all exporters. When full, the exporter holding the most loses its least recently refreshed one. */
  maxTemplates: number;
  /**
   * Per exporter (all its domains): beyond this it loses its own least recently refreshed template, so one
   * exporter sending thousands of templates cannot flush everyone else's.
   */
  maxTemplatesPerExporter: number;
  /** Sampling state (exporter/domain pairs) across all exporters, evicted like templates. */
  maxSamplingDomains: number;
  /** Sampling state per exporter (domains). */
  maxSamplingDomainsPerExporter: number;
  /** Per exporter/domain, distinct sampler ids (and, separately, interfaces) remembered. */
  maxSamplersPerDomain: number;
}

export const DEFAULT_TEMPLATE_CACHE: TemplateCacheOptions = {
  expiryMs: 30 * 60_000,
  maxTemplates: 8192,
  maxTemplatesPerExporter: 1024,
  maxSamplingDomains: 4096,
  maxSamplingDomainsPerExporter: 256,
  maxSamplersPerDomain: 256,
};

/** Rates one exporter/domain announced in options data, by what the options record was scoped to. */
export interface SamplingState {
  /** Announced without a sampler or interface scope: applies to the whole exporter/domain. */
  rate?: number;
  bySampler: Map<number, number>;
  /** Announced for one interface (v9 scope "Interface", IPFIX ingressInterface/egressInterface scope). */
  byInterface: Map<number, number>;
}

export type TemplateKind = 'netflow9' | 'ipfix';

/**
 * Entries owned by exporters, bounded twice: per owner (beyond its quota an owner loses its own oldest entry) and
 * in total (when full, the owner holding the most loses its oldest). One hostile or broken exporter can fill its
 * own quota, never take another exporter's entries. Map order is refresh order: set() re-inserts.
 */
class OwnedEntries<V> {
  private readonly owners = new Map<string, Map<string, V>>();
  size = 0;
  evictions = 0;
  /** Bumped on every change (what a memo of a lookup checks). */
  version = 0;

  constructor(
    private readonly maxTotal: () => number,
    private readonly maxPerOwner: () => number,
  ) {}

  get(owner: string, key: string): V | undefined {
    return this.owners.get(owner)?.get(key);
  }

  set(owner: string, key: string, value: V): void {
    this.version++;
    let mine = this.owners.get(owner);
    if (mine === undefined) this.owners.set(owner, (mine = new Map<string, V>()));
    if (mine.delete(key)) this.size--;
    mine.set(key, value);
    this.size++;
    while (mine.size > this.maxPerOwner()) this.evictOldest(owner, mine);
    while (this.size > this.maxTotal()) this.evictOldest(...this.largest());
  }

  delete(owner: string, key: string): boolean {
    this.version++;
    const mine = this.owners.get(owner);
    if (mine === undefined || !mine.delete(key)) return false;
    this.size--;
    if (mine.size === 0) this.owners.delete(owner);
    return true;
  }

  /** Removes the owner's entries that `match` (its keys and values); returns how many. */
  deleteWhere(owner: string, match: (key: string, value: V) => boolean): number {
    this.version++;
    const mine = this.owners.get(owner);
    if (mine === undefined) return 0;
    let n = 0;
    for (const [k, v] of mine) {
      if (match(k, v)) {
        mine.delete(k);
        n++;
      }
    }
    this.size -= n;
    if (mine.size === 0) this.owners.delete(owner);
    return n;
  }

  countFor(owner: string): number {
    return this.owners.get(owner)?.size ?? 0;
  }

  private largest(): [string, Map<string, V>] {
    let best: [string, Map<string, V>] | undefined;
    for (const entry of this.owners) if (best === undefined || entry[1].size > best[1].size) best = entry;
    return best!;
  }

  private evictOldest(owner: string, mine: Map<string, V>): void {
    mine.delete(mine.keys().next().value as string);
    this.size--;
    this.evictions++;
    if (mine.size === 0) this.owners.delete(owner);
  }
}

/**
 * Template and sampling state for v9/IPFIX, keyed by exporter + source id/observation domain + template id (never
 * by template id alone: two routers both use 256). Bounded per exporter and in total: a hostile or broken exporter
 * cannot grow it without limit, nor push out another exporter's state. Pure state: `now` is passed in, nothing
 * here does I/O or sets timers.
 */
export class TemplateCache {
  readonly options: TemplateCacheOptions;
  private readonly templates: OwnedEntries<Template>;
  private readonly sampling: OwnedEntries<SamplingState>;
  expirations = 0;

  constructor(options: Partial<TemplateCacheOptions> = {}) {
    this.options = { ...DEFAULT_TEMPLATE_CACHE, ...options };
    const o = this.options;
    this.templates = new OwnedEntries(
      () => o.maxTemplates,
      () => Math.min(o.maxTemplates, o.maxTemplatesPerExporter),
    );
    this.sampling = new OwnedEntries(
      () => o.maxSamplingDomains,
      () => Math.min(o.maxSamplingDomains, o.maxSamplingDomainsPerExporter),
    );
  }

  /** The key of a template within its exporter's entries. */
  static key(kind: TemplateKind, domain: number, id: number): string {
    return `${kind}|${domain}|${id}`;
  }

  get size(): number {
    return this.templates.size;
  }

  /** Templates evicted to stay within the caps. */
  get evictions(): number {
    return this.templates.evictions;
  }

  /**
   * The template of one exporter/domain/id (as get()), remembering the last answer: an exporter's datagrams name
   * the same template again and again, and the key text was built for every data set.
   */
  lookup(kind: TemplateKind, exporter: string, domain: number, id: number, now: number): Template | undefined {
    const m = this.memo;
    if (
      m.version === this.templates.version &&
      m.id === id &&
      m.domain === domain &&
      m.kind === kind &&
      m.exporter === exporter &&
      m.template !== undefined &&
      now - m.template.learnedAt <= this.options.expiryMs
    )
      return m.template;
    const t = this.get(exporter, TemplateCache.key(kind, domain, id), now);
    m.version = this.templates.version;
    m.kind = kind;
    m.exporter = exporter;
    m.domain = domain;
    m.id = id;
    m.template = t;
    return t;
  }

  private readonly memo: {
    version: number;
    kind: TemplateKind | undefined;
    exporter: string;
    domain: number;
    id: number;
    template: Template | undefined;
  } = { version: -1, kind: undefined, exporter: '', domain: -1, id: -1, template: undefined };

  get(exporter: string, key: string, now: number): Template | undefined {
    const t = this.templates.get(exporter, key);
    if (t === undefined) return undefined;
    if (now - t.learnedAt > this.options.expiryMs) {
      this.templates.delete(exporter, key);
      this.expirations++;
      return undefined;
    }
    return t;
  }

  set(exporter: string, key: string, template: Template): void {
    this.templates.set(exporter, key, template);
  }

  delete(exporter: string, key: string): boolean {
    return this.templates.delete(exporter, key);
  }

  /** IPFIX "withdraw all": every template (or every options template) of one exporter/domain. */
  deleteAll(kind: TemplateKind, exporter: string, domain: number, options: boolean): number {
    const prefix = `${kind}|${domain}|`;
    return this.templates.deleteWhere(exporter, (k, t) => k.startsWith(prefix) && t.options === options);
  }

  /** Templates of one exporter (all domains), for `ft flow listen --json` and health. */
  countFor(exporter: string): number {
    return this.templates.countFor(exporter);
  }

  /** What one exporter/domain announced, or undefined when it announced nothing. */
  samplingState(kind: TemplateKind, exporter: string, domain: number): SamplingState | undefined {
    return this.sampling.get(exporter, `${kind}|${domain}`);
  }

  /**
   * Remembers an announced rate: for one sampler id, for one interface, or (neither) for the whole
   * exporter/domain.
   */
  setSamplingRate(
    kind: TemplateKind,
    exporter: string,
    domain: number,
    scope: { samplerId?: number | undefined; ifIndex?: number | undefined },
    rate: number,
  ): void {
    const key = `${kind}|${domain}`;
    let s = this.sampling.get(exporter, key);
    if (s === undefined) s = { bySampler: new Map(), byInterface: new Map() };
    // Re-set on every announcement: refresh order decides what is evicted.
    this.sampling.set(exporter, key, s);
    if (scope.samplerId !== undefined) bounded(s.bySampler, scope.samplerId, rate, this.options.maxSamplersPerDomain);
    else if (scope.ifIndex !== undefined)
      bounded(s.byInterface, scope.ifIndex, rate, this.options.maxSamplersPerDomain);
    else s.rate = rate;
  }
}

function bounded(m: Map<number, number>, key: number, value: number, max: number): void {
  m.delete(key);
  m.set(key, value);
  while (m.size > max) m.delete(m.keys().next().value as number);
}
