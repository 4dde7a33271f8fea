import type { Analysis } from '../analyze/analyze.js';
import type { CaptureRecord } from '../capture/store.js';

const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));

export function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [head, ...rows]
    .map((r) =>
      r
        .map((c, i) => pad(c, widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** The analysis as an operator reads it: verdicts first, then the breakdowns. */
export function renderAnalysis(a: Analysis): string[] {
  const out: string[] = [];
  out.push(
    `${a.format}, ${a.frames} frames${a.first ? `, ${a.first} .. ${a.last}` : ''}${a.target ? `, target ${a.target}` : ''}`,
  );
  const skipped = Object.entries(a.skipped).filter(([, n]) => n > 0);
  if (skipped.length > 0) out.push(`skipped: ${skipped.map(([k, n]) => `${n} ${k}`).join(', ')}`);
  if (a.partialTailAt !== undefined)
    out.push(`the last record is incomplete (at byte ${a.partialTailAt}): still being written?`);
  out.push(
    `attack: ${a.attack.packets} packets, ${a.attack.bytes} bytes${a.attack.seconds > 0 ? ` over ${a.attack.seconds} s (${a.attack.pps} pps)` : ''}${a.attackStart ? `; ${a.preAttack.packets} packets before ${a.attackStart}` : ''}`,
  );
  out.push('');
  out.push(`spoofing_detected: ${a.spoofing_detected}  (${a.spoofing.verdict})`);
  for (const e of a.spoofing.evidence) out.push(`  ${e}`);
  out.push(`botnet_detected: ${a.botnet_detected}`);
  for (const s of a.signatures)
    out.push(
      `  ${s.id} (${s.kind}): ${s.packets} packets, ${Math.round(s.share * 100)}%, ${s.sources} source(s): ${s.description}`,
    );
  out.push(`ioc_matches: ${a.ioc_matches.length}`);
  for (const m of a.ioc_matches) out.push(`  ${m.ioc_id} [${m.kind}] ${m.value}: ${m.count} packets (${m.source})`);
  out.push('');
  const p = a.protocol_breakdown;
  out.push(`protocols: tcp ${p.tcp}%  udp ${p.udp}%  icmp ${p.icmp}%  other ${p.other}%`);
  const f = a.tcp_flag_breakdown;
  if (p.tcp > 0)
    out.push(
      `tcp flags: ${Object.entries(f)
        .map(([k, v]) => `${k} ${v}`)
        .join('  ')}; ${a.tcp_flag_combinations.map((c) => `${c.flags} ${c.packets}`).join(', ')}`,
    );
  out.push('');
  if (a.spoofing.sources.length > 0) {
    out.push(
      table(
        ['SOURCE', 'PACKETS', 'TTL', 'HOPS', 'VERDICT', 'WHY'],
        a.spoofing.sources.map((s) => [s.ip, String(s.packets), s.ttls.join('/'), String(s.hops), s.verdict, s.reason]),
      ),
    );
    out.push('');
  }
  if (a.top_dst_ports.length > 0)
    out.push(`top destination ports: ${a.top_dst_ports.map((x) => `${x.port} (${x.packets})`).join(', ')}`);
  if (a.top_src_ports.length > 0)
    out.push(`top source ports: ${a.top_src_ports.map((x) => `${x.port} (${x.packets})`).join(', ')}`);
  out.push(
    `TTLs: ${a.ttl_histogram
      .slice(0, 20)
      .map((t) => `${t.ttl}×${t.packets}`)
      .join(' ')}${a.ttl_histogram.length > 20 ? ' ...' : ''}`,
  );
  return out;
}

export function renderRecord(r: CaptureRecord): string[] {
  const out = [
    `capture ${r.id}: ${r.state}${r.reason ? ` (${r.reason})` : ''}`,
    `target ${r.target} on ${r.interfaces.join(', ')}, filter "${r.filter}"`,
    `attack start ${r.attack_start}, capture started ${r.started_at}${r.finished_at ? `, finished ${r.finished_at}` : ''}`,
  ];
  if (r.file) out.push(`file ${r.file} (${r.bytes} bytes, sha256 ${r.sha256})`);
  if (r.packets) out.push(`packets: ${r.packets.pre_attack} before the attack, ${r.packets.attack} of the attack`);
  const s = r.summary;
  if (s) {
    out.push(
      `spoofing_detected ${s.spoofing_detected} (${s.packet_evidence.spoofing}), botnet_detected ${s.botnet_detected}, ${s.ioc_matches.length} IOC match(es)`,
    );
    for (const e of s.packet_evidence.evidence) out.push(`  ${e}`);
    for (const g of s.packet_evidence.signatures) out.push(`  signature ${g.id} (${g.kind}): ${g.packets} packets`);
    for (const m of s.ioc_matches) out.push(`  ioc ${m.ioc_id} [${m.kind}] ${m.value}: ${m.count} packets`);
    if (s.packet_evidence.spoofed_sources.length > 0)
      out.push(`  spoofed: ${s.packet_evidence.spoofed_sources.join(', ')}`);
    if (s.packet_evidence.real_sources.length > 0) out.push(`  real: ${s.packet_evidence.real_sources.join(', ')}`);
  }
  return out;
}
