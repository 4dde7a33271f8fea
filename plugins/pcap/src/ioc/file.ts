import { Prefix, type Range } from '@ft/sdk';
import { LineCounter, parseDocument, type Node } from 'yaml';
import { z } from 'zod';
import type { BytePattern, Ioc } from './matcher.js';

/**
 * The local IOC file (YAML or JSON):
 *
 *     version: 1
 *     iocs:
 *       - { id: booter-net, name: Known booter range, source: 198.51.100.0/24 }
 *       - { id: telnet-scan, protocol: tcp, dstPort: 23 }
 *       - { id: memcached-stats, protocol: udp, srcPort: 11211, bytes: { layer: payload, offset: 8, text: "STAT " } }
 *
 * Every problem is reported with file:line:column and the path, and a file with any problem loads nothing.
 */
export const IOC_ERROR_CODE = 'FT_E_IOC_INVALID';

export class IocFileError extends Error {
  readonly code = IOC_ERROR_CODE;
  constructor(
    readonly file: string,
    readonly issues: { line: number; column: number; path: string; message: string }[],
  ) {
    super(
      `${file}: ${issues.length} problem(s):\n${issues.map((i) => `  ${file}:${i.line}:${i.column} ${i.path}: ${i.message}`).join('\n')}`,
    );
    this.name = 'IocFileError';
  }
}

const prefix = z.string().transform((s, ctx) => {
  try {
    return Prefix.parse(s);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

const prefixes = z.union([prefix.transform((p) => [p]), z.array(prefix).min(1)]);

const port = z.number().int().min(0).max(65535);
const portRange = z.union([
  port.transform((p): Range => ({ min: p, max: p })),
  z
    .string()
    .regex(/^\d{1,5}-\d{1,5}$/, 'a port range is "LOW-HIGH"')
    .transform((s, ctx): Range => {
      const [a, b] = s.split('-').map(Number) as [number, number];
      if (a > 65535 || b > 65535 || a > b) {
        ctx.addIssue({ code: 'custom', message: `"${s}" is not a range of ports 0-65535, low first` });
        return z.NEVER;
      }
      return { min: a, max: b };
    }),
]);
const ports = z.union([portRange.transform((r) => [r]), z.array(portRange).min(1)]);

const hex = z
  .string()
  .transform((s) => s.replace(/^0x/i, '').replace(/[\s:]/g, ''))
  .refine((s) => s.length > 0 && s.length % 2 === 0 && /^[0-9a-f]*$/i.test(s), 'hex bytes, two digits each');

const bytes = z
  .object({
    layer: z.enum(['ip', 'transport', 'payload']).default('payload'),
    offset: z.number().int().min(0).max(65535).default(0),
    hex: hex.optional(),
    text: z.string().min(1).optional(),
    mask: hex.optional(),
  })
  .strict()
  .superRefine((b, ctx) => {
    if ((b.hex === undefined) === (b.text === undefined))
      ctx.addIssue({ code: 'custom', message: 'give exactly one of hex or text' });
    const len = b.hex !== undefined ? b.hex.length / 2 : Buffer.byteLength(b.text ?? '', 'latin1');
    if (b.mask !== undefined && b.mask.length / 2 !== len)
      ctx.addIssue({ code: 'custom', path: ['mask'], message: `mask must be as long as the pattern (${len} bytes)` });
    if (len > 256) ctx.addIssue({ code: 'custom', message: 'a byte pattern is at most 256 bytes' });
  })
  .transform((b): BytePattern => ({
    layer: b.layer,
    offset: b.offset,
    value: b.hex !== undefined ? Buffer.from(b.hex, 'hex') : Buffer.from(b.text!, 'latin1'),
    ...(b.mask !== undefined ? { mask: Buffer.from(b.mask, 'hex') } : {}),
  }));

const iocSchema = z
  .object({
    id: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'letters, digits and . _ : - (at most 128), starting alphanumeric'),
    name: z.string().max(200).optional(),
    source: prefixes.optional(),
    destination: prefixes.optional(),
    protocol: z.enum(['tcp', 'udp', 'icmp']).optional(),
    srcPort: ports.optional(),
    dstPort: ports.optional(),
    bytes: bytes.optional(),
  })
  .strict()
  .superRefine((i, ctx) => {
    if (!i.source && !i.destination && !i.srcPort && !i.dstPort && !i.bytes)
      ctx.addIssue({
        code: 'custom',
        message: 'an IOC needs at least one of source, destination, srcPort, dstPort, bytes',
      });
    if ((i.srcPort || i.dstPort) && i.protocol === 'icmp')
      ctx.addIssue({ code: 'custom', message: 'ICMP has no ports' });
  });

const fileSchema = z
  .object({
    version: z.literal(1),
    iocs: z.array(iocSchema).max(1_000_000),
  })
  .strict();

type Issue = { path: (string | number)[]; message: string };

/** Zod reports a failed union as "Invalid input": say what the most fitting branch objected to instead. */
function flatten(issues: readonly z.core.$ZodIssue[], base: (string | number)[] = []): Issue[] {
  const out: Issue[] = [];
  for (const issue of issues) {
    const path = [...base, ...issue.path.filter((p): p is string | number => typeof p !== 'symbol')];
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const branches = issue.errors.map((b) => flatten(b, path));
      // A branch that got the right type and then objected says more than one that wanted another type.
      const typed = branches.filter(
        (b) => b.length > 0 && !b.every((i) => i.message.startsWith('Invalid input: expected')),
      );
      out.push(...(typed[0] ?? branches[0] ?? []).slice(0, 3));
    } else out.push({ path, message: issue.message });
  }
  return out;
}

/** Ids used twice (checked on the raw document, so it is reported beside every other problem). */
function duplicates(doc: unknown): Issue[] {
  const iocs = (doc as { iocs?: unknown } | null)?.iocs;
  if (!Array.isArray(iocs)) return [];
  const seen = new Map<string, number>();
  const out: Issue[] = [];
  iocs.forEach((i, n) => {
    const id = (i as { id?: unknown } | null)?.id;
    if (typeof id !== 'string') return;
    const first = seen.get(id);
    if (first !== undefined)
      out.push({ path: ['iocs', n, 'id'], message: `"${id}" is already the id of iocs[${first}]` });
    else seen.set(id, n);
  });
  return out;
}

/** Parses an IOC file's text. Throws IocFileError with positions; never returns a partial set. */
export function parseIocFile(text: string, file: string): Ioc[] {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new IocFileError(
      file,
      doc.errors.map((e) => {
        const pos = counter.linePos(e.pos[0]);
        return { line: pos.line, column: pos.col, path: '(file)', message: e.message.split('\n')[0]! };
      }),
    );
  }
  const raw: unknown = doc.toJS();
  const parsed = fileSchema.safeParse(raw);
  const problems = [...(parsed.success ? [] : flatten(parsed.error.issues)), ...duplicates(raw)];
  if (parsed.success && problems.length === 0) {
    return parsed.data.iocs.map((i) => {
      const ioc: Ioc = { id: i.id };
      if (i.name) ioc.name = i.name;
      if (i.source) ioc.source = i.source;
      if (i.destination) ioc.destination = i.destination;
      if (i.protocol) ioc.protocol = i.protocol;
      if (i.srcPort) ioc.srcPort = i.srcPort;
      if (i.dstPort) ioc.dstPort = i.dstPort;
      if (i.bytes) ioc.bytes = i.bytes;
      return ioc;
    });
  }
  throw new IocFileError(
    file,
    problems.map(({ path, message }) => ({
      ...positionOf(doc, counter, path),
      path:
        path.length > 0
          ? path
              .map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`))
              .join('')
              .replace(/^\./, '')
          : '(file)',
      message,
    })),
  );
}

function positionOf(
  doc: ReturnType<typeof parseDocument>,
  counter: LineCounter,
  path: (string | number)[],
): { line: number; column: number } {
  for (let n = path.length; n >= 0; n--) {
    const node = (n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true)) as Node | null | undefined;
    if (node && typeof node === 'object' && 'range' in node && node.range) {
      const pos = counter.linePos(node.range[0]);
      return { line: pos.line, column: pos.col };
    }
  }
  return { line: 1, column: 1 };
}
