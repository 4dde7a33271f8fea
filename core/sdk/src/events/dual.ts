import { z } from 'zod';
import { Prefix } from '../prefix.js';

/**
 * One definition, two forms: what core holds (camelCase keys, `Prefix`, epoch ms) and what leaves the process (the
 * wire JSON: snake_case keys, prefixes as text, ISO 8601 times). `wire` is the zod schema of the wire form (what
 * subscribers get, what the API documents); `decode` turns a validated wire value into the core form and `encode`
 * goes back. Writing each event once here, instead of a TypeScript type, a zod schema and two mapping functions,
 * is what keeps the four from drifting apart.
 */
export interface Dual<I, W> {
  readonly wire: z.ZodType<W>;
  decode(w: W): I;
  encode(i: I): W;
  /** Set by `opt()`: the key may be absent (in both forms). */
  readonly optional?: true;
}

export type InOf<D> = D extends Dual<infer I, unknown> ? I : never;
export type WireOf<D> = D extends Dual<unknown, infer W> ? W : never;

/** camelCase → snake_case at the type level (field names are static, so this is safe; record keys are never mapped). */
export type Snake<S extends string> = S extends `${infer C}${infer R}`
  ? `${C extends Lowercase<C> ? C : `_${Lowercase<C>}`}${Snake<R>}`
  : S;
export const snake = (k: string): string => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

type Simplify<T> = { [K in keyof T]: T[K] } & {};
type Shape = Record<string, Dual<any, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any
type OptKeys<S extends Shape> = { [K in keyof S]: S[K]['optional'] extends true ? K : never }[keyof S];
type ReqKeys<S extends Shape> = Exclude<keyof S, OptKeys<S>>;
export type ObjIn<S extends Shape> = Simplify<{ [K in ReqKeys<S>]: InOf<S[K]> } & { [K in OptKeys<S>]?: InOf<S[K]> }>;
export type ObjWire<S extends Shape> = Simplify<
  { [K in ReqKeys<S> as Snake<K & string>]: WireOf<S[K]> } & {
    [K in OptKeys<S> as Snake<K & string>]?: WireOf<S[K]>;
  }
>;

/**
 * What a leaf holds, for tools that walk the wire schema (the property tests generate values by it): the schema
 * alone says "string" for a prefix, a time and a name alike.
 */
export type LeafKind = 'prefix' | 'time' | 'rule' | 'incident';
const kinds = new WeakMap<z.ZodType, LeafKind>();
export const leafKind = (schema: z.ZodType): LeafKind | undefined => kinds.get(schema);
function tagged<T extends z.ZodType>(schema: T, kind: LeafKind): T {
  kinds.set(schema, kind);
  return schema;
}

const same = <T>(wire: z.ZodType<T>): Dual<T, T> => ({ wire, decode: (w) => w, encode: (i) => i });

/** A copy with a description on the wire schema (it reaches the JSON Schema, OpenAPI and docs/events.md). */
export function doc<I, W>(d: Dual<I, W>, description: string): Dual<I, W> {
  const wire = d.wire.describe(description);
  const kind = kinds.get(d.wire);
  return { ...d, wire: kind ? tagged(wire, kind) : wire };
}

/**
 * A shared structure with a name: the JSON Schema (and so OpenAPI and docs/events.md) defines it once under that
 * name and refers to it wherever it is used.
 */
export function named<I, W>(d: Dual<I, W>, id: string, description: string): Dual<I, W> {
  const wire = d.wire.meta({ id, description });
  const kind = kinds.get(d.wire);
  return { ...d, wire: kind ? tagged(wire, kind) : wire };
}

export const num = (description?: string) =>
  same(description ? z.number().finite().describe(description) : z.number().finite());
export const int = (description?: string) =>
  same(description ? z.number().int().describe(description) : z.number().int());
export const str = (description?: string) => same(description ? z.string().describe(description) : z.string());
export const bool = (description?: string) => same(description ? z.boolean().describe(description) : z.boolean());
export const oneOf = <const T extends readonly [string, ...string[]]>(values: T, description?: string) =>
  same(description ? z.enum(values).describe(description) : z.enum(values));
/** A value passed through as it is (vendor payloads, free-form detail). */
export const any = (description?: string) =>
  same<unknown>(description ? z.unknown().describe(description) : z.unknown());

/** An address or prefix: `Prefix` in core, its canonical text on the wire. */
export const prefix = (description?: string): Dual<Prefix, string> => {
  const wire = z.string().refine((s) => {
    try {
      Prefix.parse(s);
      return true;
    } catch {
      return false;
    }
  }, 'not an IP address or prefix');
  return {
    wire: tagged(wire.meta({ format: 'ip-prefix', ...(description ? { description } : {}) }), 'prefix'),
    decode: (w) => Prefix.parse(w),
    encode: (p) => p.toString(),
  };
};

/** A time: epoch milliseconds in core, ISO 8601 (UTC, ms precision) on the wire. */
export const time = (description?: string): Dual<number, string> => {
  const wire = z.iso.datetime({ offset: true });
  return {
    wire: tagged(description ? wire.describe(description) : wire, 'time'),
    decode: (w) => Date.parse(w),
    encode: (ms) => new Date(ms).toISOString(),
  };
};

export function opt<I, W>(d: Dual<I, W>): Dual<I, W> & { optional: true } {
  return {
    wire: d.wire.optional() as unknown as z.ZodType<W>,
    decode: d.decode,
    encode: d.encode,
    optional: true,
  };
}

export function arr<I, W>(d: Dual<I, W>, description?: string): Dual<I[], W[]> {
  const wire = z.array(d.wire);
  return {
    wire: description ? wire.describe(description) : wire,
    decode: (w) => w.map((x) => d.decode(x)),
    encode: (i) => i.map((x) => d.encode(x)),
  };
}

/** A map with keys that are data (adapter names, counter labels): keys are never renamed. */
export function rec<I, W>(d: Dual<I, W>, description?: string): Dual<Record<string, I>, Record<string, W>> {
  const wire = z.record(z.string(), d.wire);
  const map =
    <A, B>(f: (a: A) => B) =>
    (r: Record<string, A>) =>
      Object.fromEntries(Object.entries(r).map(([k, v]) => [k, f(v)]));
  return {
    wire: description ? wire.describe(description) : wire,
    decode: map((x: W) => d.decode(x)),
    encode: map((x: I) => d.encode(x)),
  };
}

export function obj<S extends Shape>(shape: S, description?: string): Dual<ObjIn<S>, ObjWire<S>> {
  const entries = Object.entries(shape).map(([k, d]) => ({ k, w: snake(k), d }));
  const wire = z.strictObject(Object.fromEntries(entries.map((e) => [e.w, e.d.wire])));
  return {
    wire: (description ? wire.describe(description) : wire) as unknown as z.ZodType<ObjWire<S>>,
    decode(w) {
      const src = w as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const e of entries) {
        const v = src[e.w];
        if (v !== undefined) out[e.k] = e.d.decode(v);
      }
      return out as ObjIn<S>;
    },
    encode(i) {
      const src = i as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const e of entries) {
        const v = src[e.k];
        if (v !== undefined) out[e.w] = e.d.encode(v);
      }
      return out as ObjWire<S>;
    },
  };
}

/** A value whose wire form is an existing ft JSON format (a rule, the reference incident): its own codec. */
export function foreign<I, W>(
  kind: LeafKind,
  wire: z.ZodType<W>,
  decode: (w: W) => I,
  encode: (i: I) => W,
): Dual<I, W> {
  return { wire: tagged(wire, kind), decode, encode };
}
