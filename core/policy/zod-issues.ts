import type { z } from 'zod';

/** A problem with a path into the raw document, before it is given a source position. */
export interface Located {
  path: PropertyKey[];
  message: string;
  /** Point at the key rather than its value (unknown keys). */
  atKey?: boolean;
}

type Issue = z.core.$ZodIssue & { input?: unknown };

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  if (typeof v === 'string') return `"${v}"`;
  if (typeof v === 'function' || typeof v === 'symbol') return typeof v;
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- only primitives are left here
  return String(v);
}

const EXPECTED: Record<string, string> = {
  object: 'a map',
  array: 'a list',
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
};

/** Turns zod issues into messages a network engineer can act on: what was found and what was expected. */
export function describeIssues(issues: readonly Issue[], schema: z.ZodType, prefix: PropertyKey[] = []): Located[] {
  const out: Located[] = [];
  for (const issue of issues) out.push(...describe(issue, schema, [...prefix, ...issue.path], prefix.length));
  return out;
}

function describe(issue: Issue, schema: z.ZodType, path: PropertyKey[], skip: number): Located[] {
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeys(schema, path.slice(skip));
      const list = known.length > 0 && known.length <= 12 ? ` (known keys: ${known.join(', ')})` : '';
      return issue.keys.map((key) => {
        const hint = closest(key, known);
        return {
          path: [...path, key],
          atKey: true,
          message: `unknown key "${key}"${hint ? `: did you mean "${hint}"?` : list}`,
        };
      });
    }
    case 'invalid_type': {
      const expected = EXPECTED[issue.expected] ?? issue.expected;
      if (issue.input === undefined) return [{ path, message: `required: expected ${expected}` }];
      return [{ path, message: `expected ${expected}, got ${typeOf(issue.input)}` }];
    }
    case 'invalid_value': {
      const values = issue.values.map((v) => JSON.stringify(v));
      if (issue.input === undefined)
        return [
          { path, message: `required: expected ${values.length === 1 ? values[0] : `one of ${values.join(', ')}`}` },
        ];
      const got = typeOf(issue.input);
      return [
        {
          path,
          message:
            values.length === 1
              ? `expected ${values[0]}, got ${got}`
              : `expected one of ${values.join(', ')}, got ${got}`,
        },
      ];
    }
    case 'invalid_union': {
      const u = issue as Issue & { discriminator?: string; options?: unknown[]; errors: Issue[][] };
      if (u.discriminator) {
        const got = (issue.input as Record<string, unknown> | undefined)?.[u.discriminator];
        const opts = (u.options ?? []).map((o) => JSON.stringify(o)).join(', ');
        return [{ path, message: `expected one of ${opts}, got ${got === undefined ? 'nothing' : typeOf(got)}` }];
      }
      // oneOrMany and similar: report the branch whose shape matched, or both expectations.
      const depth = (errs: Issue[]) => Math.min(...errs.map((e) => e.path.length));
      const matched = u.errors.filter((errs) => !errs.every((e) => e.code === 'invalid_type' && e.path.length === 0));
      // A list given where one value or a list is accepted: the list branch's item errors say what is wrong.
      const branches = Array.isArray(issue.input) ? [...matched].sort((a, b) => depth(b) - depth(a)) : matched;
      if (branches.length > 0)
        return (branches[0] as Issue[]).flatMap((e) => describe(e, schema, [...path, ...e.path], skip));
      const expected = u.errors.flatMap((errs) =>
        errs.map((e) => (e.code === 'invalid_type' ? (EXPECTED[e.expected] ?? e.expected) : e.message)),
      );
      const got = issue.input === undefined ? undefined : typeOf(issue.input);
      return [
        {
          path,
          message: got
            ? `expected ${expected.join(' or ')}, got ${got}`
            : `required: expected ${expected.join(' or ')}`,
        },
      ];
    }
    case 'too_small':
      if (issue.origin === 'array')
        return [{ path, message: `expected at least ${String(issue.minimum)} item${issue.minimum === 1 ? '' : 's'}` }];
      return [
        {
          path,
          message: `expected ${issue.inclusive === false ? 'more than' : 'at least'} ${String(issue.minimum)}, got ${typeOf(issue.input)}`,
        },
      ];
    case 'too_big':
      if (issue.origin === 'array') return [{ path, message: `expected at most ${String(issue.maximum)} items` }];
      return [
        {
          path,
          message: `expected ${issue.inclusive === false ? 'less than' : 'at most'} ${String(issue.maximum)}, got ${typeOf(issue.input)}`,
        },
      ];
    default:
      return [{ path, message: issue.message }];
  }
}

/** The keys an object schema accepts at a path, for "did you mean" hints. */
function knownKeys(schema: z.ZodType, path: PropertyKey[]): string[] {
  let s: unknown = schema;
  for (const seg of [...path, undefined]) {
    s = unwrap(s);
    const def = (s as { _zod?: { def?: Record<string, unknown> } })._zod?.def;
    if (!def) return [];
    if (seg === undefined) {
      if (def.type === 'object') return Object.keys(def.shape as object);
      if (def.type === 'union') {
        return [...new Set((def.options as unknown[]).flatMap((o) => knownKeysOfObject(o)))];
      }
      return [];
    }
    if (def.type === 'object') s = (def.shape as Record<string, unknown>)[String(seg)] ?? def.catchall;
    else if (def.type === 'array') s = def.element;
    else if (def.type === 'record') s = def.valueType;
    else if (def.type === 'union') {
      const opts = (def.options as unknown[]).map(unwrap);
      s =
        typeof seg === 'number'
          ? opts.find((o) => defOf(o)?.type === 'array')
          : opts.find((o) => defOf(o)?.type === 'object');
      if (s && typeof seg === 'number') s = defOf(s)?.element;
      else if (s) s = (defOf(s)?.shape as Record<string, unknown>)[String(seg)];
    } else return [];
    if (s === undefined) return [];
  }
  return [];
}

function knownKeysOfObject(o: unknown): string[] {
  const d = defOf(unwrap(o));
  return d?.type === 'object' ? Object.keys(d.shape as object) : [];
}

function defOf(s: unknown): Record<string, unknown> | undefined {
  return (s as { _zod?: { def?: Record<string, unknown> } } | undefined)?._zod?.def;
}

function unwrap(s: unknown): unknown {
  for (let i = 0; i < 10; i++) {
    const d = defOf(s);
    if (!d) return s;
    if (d.type === 'optional' || d.type === 'default' || d.type === 'nullable' || d.type === 'prefault')
      s = d.innerType;
    else if (d.type === 'pipe') s = d.in;
    else return s;
  }
  return s;
}

/** The known word within edit distance 2 (or sharing a case-insensitive spelling), if any. */
export function closest(word: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const k of known) {
    // Lengths 3 or more apart are at least 3 edits apart: skip the distance table.
    if (Math.abs(k.length - word.length) >= bestD) continue;
    const d = k.toLowerCase() === word.toLowerCase() ? 0 : distance(word, k);
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best;
}

function distance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0] as number;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j] as number;
      dp[j] = Math.min((dp[j] as number) + 1, (dp[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length] as number;
}
