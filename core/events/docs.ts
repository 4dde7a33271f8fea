import { z } from 'zod';
import { EVENT_DEFS, EVENT_TYPES, wireEventSchema } from '@ft/sdk';

/**
 * The catalogue part of docs/events.md, generated from the wire schemas (the same JSON Schema the API's OpenAPI
 * document is made of), so the page cannot drift from what subscribers get: test/events/docs.test.ts compares.
 */
export const CATALOGUE_START =
  '<!-- generated from the event schemas by scripts/gen-events-doc.mjs: do not edit by hand -->';
export const CATALOGUE_END = '<!-- end of generated catalogue -->';

interface Node {
  $ref?: string;
  type?: string;
  format?: string;
  const?: unknown;
  enum?: unknown[];
  items?: Node;
  properties?: Record<string, Node>;
  required?: string[];
  additionalProperties?: Node | boolean;
  anyOf?: Node[];
  description?: string;
  title?: string;
}

const GROUP_TITLES: Record<string, string> = {
  incident: 'Incidents',
  rule: 'Rules',
  op: 'Ops (the audit trail)',
  operational: 'Operational',
  traffic: 'Traffic',
};

const anchor = (id: string) => id.toLowerCase().replace(/[^a-z0-9]+/g, '-');
const cell = (s: string | undefined) => (s ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function eventsJsonSchema(): { $defs: Record<string, Node> } {
  return z.toJSONSchema(wireEventSchema as z.ZodType, { unrepresentable: 'any' }) as unknown as {
    $defs: Record<string, Node>;
  };
}

function typeOf(n: Node): string {
  if (n.$ref) {
    const id = n.$ref.replace('#/$defs/', '');
    return `[${id}](#${anchor(id)})`;
  }
  if (n.const !== undefined) return `\`${JSON.stringify(n.const)}\``;
  if (n.enum) return n.enum.map((v) => `\`${String(v)}\``).join(' \\| ');
  if (n.anyOf) return n.anyOf.map(typeOf).join(' or ');
  if (n.type === 'string' && n.format === 'date-time') return 'time (ISO 8601)';
  if (n.type === 'string' && n.format === 'ip-prefix') return 'prefix';
  if (n.type === 'array') return `${n.items ? typeOf(n.items) : 'any'}[]`;
  if (n.type === 'object' && !n.properties)
    return typeof n.additionalProperties === 'object' ? `map of ${typeOf(n.additionalProperties)}` : 'object';
  return n.type ?? 'any';
}

/** Rows for an object's fields; inline objects (not named structures) are flattened as `a.b`. */
function rows(n: Node, prefix = '', defs: Record<string, Node> = {}): string[] {
  const out: string[] = [];
  const req = new Set(n.required ?? []);
  for (const [name, f] of Object.entries(n.properties ?? {})) {
    const key = `${prefix}${name}`;
    const inline = f.type === 'object' && f.properties && !f.$ref;
    const arrayInline = f.type === 'array' && f.items?.type === 'object' && f.items.properties && !f.items.$ref;
    out.push(
      `| \`${key}\` | ${inline ? 'object' : arrayInline ? 'object[]' : typeOf(f)} | ${req.has(name) ? 'yes' : ''} | ${cell(f.description ?? (arrayInline ? f.items?.description : undefined) ?? refDescription(f, defs))} |`,
    );
    if (inline) out.push(...rows(f, `${key}.`, defs));
    if (arrayInline && f.items) out.push(...rows(f.items, `${key}[].`, defs));
  }
  return out;
}

/** A field that is a named structure (or a list of one) says what that structure is. */
function refDescription(f: Node, defs: Record<string, Node>): string | undefined {
  const ref = f.$ref ?? f.items?.$ref;
  return ref ? defs[ref.replace('#/$defs/', '')]?.description : undefined;
}

const TABLE_HEAD = ['| field | type | always | meaning |', '|---|---|---|---|'];

export function renderEventCatalogue(): string {
  const { $defs } = eventsJsonSchema();
  const lines: string[] = [CATALOGUE_START, ''];
  const envelope = $defs[`event.${EVENT_TYPES[0]}`] as Node;
  lines.push('### Every event', '', ...TABLE_HEAD);
  lines.push(
    ...rows({
      ...envelope,
      properties: Object.fromEntries(
        Object.entries(envelope.properties ?? {}).map(([k, v]) =>
          k === 'type'
            ? [k, { type: 'string', description: 'One of the types below.' }]
            : k === 'data'
              ? [k, { type: 'object', description: 'The fields of that type (below).' }]
              : [k, v],
        ),
      ),
    }),
    '',
  );
  for (const group of ['incident', 'rule', 'op', 'operational', 'traffic'] as const) {
    lines.push(`### ${GROUP_TITLES[group]}`, '');
    for (const t of EVENT_TYPES.filter((x) => EVENT_DEFS[x].group === group)) {
      const ev = $defs[`event.${t}`] as Node;
      const data = ev.properties?.data as Node;
      lines.push(`#### \`${t}\``, '', EVENT_DEFS[t].summary, '', ...TABLE_HEAD, ...rows(data, 'data.', $defs), '');
    }
  }
  lines.push('### Shared structures', '');
  for (const id of Object.keys($defs)
    .filter((k) => !k.startsWith('event.'))
    .sort()) {
    const n = $defs[id] as Node;
    lines.push(`#### ${id}`, '', cell(n.description), '');
    if (n.properties) lines.push(...TABLE_HEAD, ...rows(n, '', $defs), '');
  }
  lines.push(CATALOGUE_END);
  return lines.join('\n');
}

/** docs/events.md with its catalogue replaced by what the schemas say today. */
export function withCatalogue(page: string): string {
  const a = page.indexOf(CATALOGUE_START);
  const b = page.indexOf(CATALOGUE_END);
  if (a < 0 || b < a) throw new Error('docs/events.md has no generated-catalogue markers');
  return page.slice(0, a) + renderEventCatalogue() + page.slice(b + CATALOGUE_END.length);
}
