import type { ExportRecord } from '@ft/sdk';

/** The columns of ft.log, with their Zeek types (docs/export.md). */
export const ZEEK_FIELDS: [string, string][] = [
  ['ts', 'time'],
  ['uid', 'string'],
  ['tenant', 'string'],
  ['node', 'string'],
  ['event', 'string'],
  ['category', 'string'],
  ['action', 'string'],
  ['severity', 'string'],
  ['target', 'subnet'],
  ['dest_h', 'addr'],
  ['dest_p', 'port'],
  ['proto', 'enum'],
  ['incident_id', 'string'],
  ['attack_family', 'string'],
  ['vectors', 'set[string]'],
  ['src_hosts', 'set[addr]'],
  ['pps', 'double'],
  ['bps', 'double'],
  ['peak_pps', 'double'],
  ['peak_bps', 'double'],
  ['rule_id', 'string'],
  ['rule_kind', 'string'],
  ['rule_action', 'string'],
  ['rail', 'string'],
  ['outcome', 'string'],
  ['msg', 'string'],
];

/** Zeek's ASCII writer escapes: backslash, tab, newline and non-printables as \xNN; the set separator in sets. */
export function zeekEscape(s: string, inSet = false): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    if (ch === '\\' || ch === '\t' || c < 0x20 || c === 0x7f || (inSet && ch === ','))
      out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out;
}

const UNSET = '-';
const EMPTY = '(empty)';

function cell(v: unknown, type: string): string {
  if (v === undefined || v === null) return UNSET;
  if (type.startsWith('set[')) {
    const list = v as string[];
    return list.length === 0 ? EMPTY : list.map((x) => zeekEscape(String(x), true)).join(',');
  }
  if (type === 'time') return ((v as number) / 1000).toFixed(6);
  if (type === 'double') return Number(v).toFixed(1);
  const s = typeof v === 'string' ? v : typeof v === 'number' ? String(v) : JSON.stringify(v);
  if (s === '') return EMPTY;
  if (s === UNSET) return '\\x2d';
  return zeekEscape(s);
}

/** The header a Zeek ASCII log starts with. */
export function zeekHeader(path: string, openMs: number): string {
  const open = new Date(openMs).toISOString().replace('T', '-').replace(/:/g, '-').slice(0, 19);
  return [
    '#separator \\x09',
    '#set_separator\t,',
    `#empty_field\t${EMPTY}`,
    `#unset_field\t${UNSET}`,
    `#path\t${path}`,
    `#open\t${open}`,
    `#fields\t${ZEEK_FIELDS.map((f) => f[0]).join('\t')}`,
    `#types\t${ZEEK_FIELDS.map((f) => f[1]).join('\t')}`,
  ].join('\n');
}

export function zeekClose(closeMs: number): string {
  return `#close\t${new Date(closeMs).toISOString().replace('T', '-').replace(/:/g, '-').slice(0, 19)}`;
}

/** One record as a row of ft.log. */
export function zeekRow(r: ExportRecord): string {
  const i = r.incident;
  const values: Record<string, unknown> = {
    ts: r.atMs,
    uid: r.id,
    tenant: r.tenant,
    node: r.node,
    event: r.type,
    category: r.category,
    action: r.action,
    severity: r.severity,
    target: r.target,
    dest_h: r.targetIp,
    dest_p: i?.top_dst_ports[0] ? `${i.top_dst_ports[0].port}` : undefined,
    proto: i?.transport,
    incident_id: i?.id ?? r.rule?.incident_id ?? r.traffic?.incident_id,
    attack_family: i?.attack_family ?? r.traffic?.attack_family,
    vectors: i?.vector,
    src_hosts: i ? (i.spoofing_detected ? [] : i.top_src_ips.map((s) => s.ip)) : undefined,
    pps: i?.pps ?? r.traffic?.pps,
    bps: i?.bps ?? r.traffic?.bps,
    peak_pps: i?.peak_pps ?? r.traffic?.peak_pps,
    peak_bps: i?.peak_bps ?? r.traffic?.peak_bps,
    rule_id: r.rule?.id,
    rule_kind: r.rule?.kind,
    rule_action: r.rule?.action,
    rail: r.rule?.rail,
    outcome: r.outcome,
    msg: r.message,
  };
  return ZEEK_FIELDS.map(([k, t]) => cell(values[k], t)).join('\t');
}
