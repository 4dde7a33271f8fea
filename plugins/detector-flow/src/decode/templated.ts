import { isV4Mapped, ipv6TextAt, u32 } from './addr.js';
import type { FlowBatch } from './batch.js';
import {
  TemplateCache,
  type FieldSpec,
  type FixedLayout,
  type SamplingState,
  type Template,
  type TemplateKind,
} from './template-cache.js';
import { emptyDatagram, WireError, type DecodedDatagram } from './types.js';

/** Information elements ft reads (RFC 3954 field types = IPFIX IE ids for these). */
const IE = {
  octets: 1,
  packets: 2,
  protocol: 4,
  tcpFlags: 6,
  srcPort: 7,
  srcV4: 8,
  inputIf: 10,
  dstPort: 11,
  dstV4: 12,
  outputIf: 14,
  srcV6: 27,
  dstV6: 28,
  icmpType: 32,
  samplingInterval: 34,
  samplerId: 48,
  samplerRandomInterval: 50,
  minTtl: 52,
  maxTtl: 53,
  octetsTotal: 85,
  packetsTotal: 86,
  icmpTypeCodeV6: 139,
  icmpTypeV4: 176,
  icmpCodeV4: 177,
  icmpTypeV6: 178,
  icmpCodeV6: 179,
  ttl: 192,
  selectorId: 302,
  packetInterval: 305,
  packetSpace: 306,
  samplingSize: 309,
  samplingPopulation: 310,
  ingressInterface: 10,
  egressInterface: 14,
} as const;

const VARIABLE = 0xffff;

/**
 * Field actions, numbered densely so the per-field switch compiles to a jump table (switching on element ids,
 * which run from 1 to 310, compiled to a chain of comparisons that was a fifth of the decoding time).
 */
const A = {
  skip: 0,
  octets: 1,
  packets: 2,
  octetsTotal: 3,
  packetsTotal: 4,
  protocol: 5,
  tcpFlags: 6,
  srcPort: 7,
  dstPort: 8,
  srcV4: 9,
  dstV4: 10,
  srcV6: 11,
  dstV6: 12,
  inputIf: 13,
  outputIf: 14,
  icmp: 15,
  icmpType: 16,
  icmpCode: 17,
  ttl: 18,
  minTtl: 19,
  samplerId: 20,
  interval: 21,
  randomInterval: 22,
  packetInterval: 23,
  packetSpace: 24,
  samplingSize: 25,
  samplingPopulation: 26,
  /** Options scope fields: what the options record's values apply to. */
  scopeInterface: 27,
} as const;

/** The action for an information element (enterprise elements are skipped by length). */
function actionOf(id: number, enterprise: number): number {
  if (enterprise !== 0) return A.skip;
  switch (id) {
    case IE.octets:
      return A.octets;
    case IE.packets:
      return A.packets;
    case IE.octetsTotal:
      return A.octetsTotal;
    case IE.packetsTotal:
      return A.packetsTotal;
    case IE.protocol:
      return A.protocol;
    case IE.tcpFlags:
      return A.tcpFlags;
    case IE.srcPort:
      return A.srcPort;
    case IE.dstPort:
      return A.dstPort;
    case IE.srcV4:
      return A.srcV4;
    case IE.dstV4:
      return A.dstV4;
    case IE.srcV6:
      return A.srcV6;
    case IE.dstV6:
      return A.dstV6;
    case IE.inputIf:
      return A.inputIf;
    case IE.outputIf:
      return A.outputIf;
    case IE.icmpType:
    case IE.icmpTypeCodeV6:
      return A.icmp;
    case IE.icmpTypeV4:
    case IE.icmpTypeV6:
      return A.icmpType;
    case IE.icmpCodeV4:
    case IE.icmpCodeV6:
      return A.icmpCode;
    case IE.ttl:
    case IE.maxTtl:
      return A.ttl;
    case IE.minTtl:
      return A.minTtl;
    case IE.samplerId:
    case IE.selectorId:
      return A.samplerId;
    case IE.samplingInterval:
      return A.interval;
    case IE.samplerRandomInterval:
      return A.randomInterval;
    case IE.packetInterval:
      return A.packetInterval;
    case IE.packetSpace:
      return A.packetSpace;
    case IE.samplingSize:
      return A.samplingSize;
    case IE.samplingPopulation:
      return A.samplingPopulation;
    default:
      return A.skip;
  }
}
/**
 * The action for a scope field of an options template. v9 numbers scope fields on its own scale (RFC 3954 §6.1:
 * 1 System, 2 Interface, 3 Line Card, 4 Cache, 5 Template), which is not the information element numbering of
 * the option fields after them: scope 2 is an interface, not a packet count. IPFIX scopes are information
 * elements (RFC 7011 §3.4.2.1). Only interface and sampler scopes change which records a rate applies to; any
 * other scope (system, line card, observation domain...) is exporter/domain-wide.
 */
function scopeActionOf(kind: TemplateKind, id: number, enterprise: number): number {
  if (kind === 'netflow9') return id === 2 ? A.scopeInterface : A.skip;
  if (enterprise !== 0) return A.skip;
  if (id === IE.ingressInterface || id === IE.egressInterface) return A.scopeInterface;
  if (id === IE.samplerId || id === IE.selectorId) return A.samplerId;
  return A.skip;
}

/** Sampling rates above this are almost certainly a unit mix-up; they are kept but flagged by the collector. */
export const ABSURD_SAMPLING_RATE = 1_000_000;

export interface TemplatedContext {
  exporter: string;
  now: number;
  cache: TemplateCache;
  /** Where the flows go. */
  batch: FlowBatch;
}

interface Dialect {
  kind: TemplateKind;
  headerLength: number;
  templateSet: number;
  optionsSet: number;
}

const V9: Dialect = { kind: 'netflow9', headerLength: 20, templateSet: 0, optionsSet: 1 };
const IPFIX: Dialect = { kind: 'ipfix', headerLength: 16, templateSet: 2, optionsSet: 3 };

/** Reads an unsigned integer of 1..8 bytes (reduced-size encoding); above 2^53 precision is lost, never the sign. */
function readUint(buf: Buffer, off: number, len: number): number {
  switch (len) {
    case 1:
      return buf[off] as number;
    case 2:
      return buf.readUInt16BE(off);
    case 4:
      return u32(buf, off);
    case 8:
      return u32(buf, off) * 4294967296 + u32(buf, off + 4);
    default: {
      if (len > 8) return 0;
      let v = 0;
      for (let i = 0; i < len; i++) v = v * 256 + (buf[off + i] as number);
      return v;
    }
  }
}

/** Changes a datagram asks for, applied only when the whole datagram decoded. */
interface Pending {
  templates: Map<number, Template | null>;
  withdrawAll: boolean[];
  sampling: { samplerId: number | undefined; ifIndex: number | undefined; rate: number }[];
}

const PENDING: Pending = { templates: new Map(), withdrawAll: [], sampling: [] };

export function decodeNetflow9(buf: Buffer, ctx: TemplatedContext): DecodedDatagram {
  if (buf.length < V9.headerLength)
    throw new WireError(0, `NetFlow v9 header needs 20 bytes, datagram has ${buf.length}`);
  const out = emptyDatagram('netflow9', ctx.batch.datagram);
  out.sequence = buf.readUInt32BE(12);
  out.domain = buf.readUInt32BE(16);
  out.sequenceCounts = 'datagrams';
  out.sequenceAdvance = 1;
  walkSets(buf, V9.headerLength, buf.length, V9, ctx, out);
  return out;
}

export function decodeIpfix(buf: Buffer, ctx: TemplatedContext): DecodedDatagram {
  if (buf.length < IPFIX.headerLength)
    throw new WireError(0, `IPFIX header needs 16 bytes, datagram has ${buf.length}`);
  const length = buf.readUInt16BE(2);
  if (length < IPFIX.headerLength) throw new WireError(2, `IPFIX message length ${length} is shorter than its header`);
  if (length > buf.length)
    throw new WireError(2, `IPFIX message length ${length} exceeds the datagram (${buf.length} bytes)`);
  const out = emptyDatagram('ipfix', ctx.batch.datagram);
  out.sequence = buf.readUInt32BE(8);
  out.domain = buf.readUInt32BE(12);
  out.sequenceCounts = 'records';
  out.sequenceAdvance = 0;
  walkSets(buf, IPFIX.headerLength, length, IPFIX, ctx, out);
  return out;
}

function walkSets(
  buf: Buffer,
  start: number,
  end: number,
  d: Dialect,
  ctx: TemplatedContext,
  out: DecodedDatagram,
): void {
  // One pending set for every datagram (decoding is synchronous): emptied here, applied by commit().
  const pending = PENDING;
  // clear() gives a Map a fresh table even when empty: only when there is something to clear.
  if (pending.templates.size > 0) pending.templates.clear();
  pending.withdrawAll.length = 0;
  pending.sampling.length = 0;
  let off = start;
  // v9 exporters may leave a few bytes of padding after the last FlowSet.
  while (off + 4 <= end) {
    const setId = buf.readUInt16BE(off);
    const setLength = buf.readUInt16BE(off + 2);
    // A zero-length set would make a naive loop spin forever.
    if (setLength < 4) throw new WireError(off + 2, `set length ${setLength} is shorter than a set header`);
    if (off + setLength > end)
      throw new WireError(off + 2, `set ${setId} of ${setLength} bytes runs past the end (${end - off} left)`);
    const body = off + 4;
    const setEnd = off + setLength;
    if (setId === d.templateSet) readTemplates(buf, body, setEnd, d, false, ctx, pending, out);
    else if (setId === d.optionsSet) readTemplates(buf, body, setEnd, d, true, ctx, pending, out);
    else if (setId >= 256) readData(buf, body, setEnd, setId, d, ctx, pending, out);
    // Other ids (v9 2..255, IPFIX 0,1,4..255) are reserved: skipped by length.
    off = setEnd;
  }
  commit(d, ctx, out, pending);
}

function readTemplates(
  buf: Buffer,
  off: number,
  end: number,
  d: Dialect,
  options: boolean,
  ctx: TemplatedContext,
  pending: Pending,
  out: DecodedDatagram,
): void {
  const ipfix = d.kind === 'ipfix';
  // The smallest template record is its id and count (4 bytes); anything shorter is padding.
  while (off + 4 <= end) {
    const id = buf.readUInt16BE(off);
    let fieldCount: number;
    let scopeCount = 0;
    if (!options) {
      fieldCount = buf.readUInt16BE(off + 2);
      off += 4;
    } else if (ipfix) {
      fieldCount = buf.readUInt16BE(off + 2);
      if (fieldCount === 0) {
        off += 4;
      } else {
        if (off + 6 > end) throw new WireError(off, 'options template record truncated');
        scopeCount = buf.readUInt16BE(off + 4);
        off += 6;
      }
    } else {
      // v9 options templates give scope and option lengths in BYTES (4 per field).
      if (off + 6 > end) {
        break; // padding
      }
      const scopeBytes = buf.readUInt16BE(off + 2);
      const optionBytes = buf.readUInt16BE(off + 4);
      if (scopeBytes % 4 !== 0 || optionBytes % 4 !== 0)
        throw new WireError(
          off + 2,
          `options template ${id} field lengths ${scopeBytes}/${optionBytes} are not multiples of 4`,
        );
      scopeCount = scopeBytes / 4;
      fieldCount = scopeCount + optionBytes / 4;
      off += 6;
    }
    if (fieldCount === 0) {
      // Zeros where a record would start are padding (both protocols allow padding sets to 4-byte boundaries).
      if (id === 0) break;
      if (!ipfix) throw new WireError(off - 4, `template ${id} has no fields`);
      // IPFIX withdrawal: the set's own id withdraws all templates of that kind.
      if (id === d.templateSet || id === d.optionsSet) pending.withdrawAll.push(id === d.optionsSet);
      else if (id >= 256) pending.templates.set(id, null);
      else throw new WireError(off - 4, `withdrawal of reserved template id ${id}`);
      out.templatesWithdrawn++;
      continue;
    }
    if (id < 256) throw new WireError(off - 4, `template id ${id} is reserved (data templates start at 256)`);
    if (ipfix && options && (scopeCount === 0 || scopeCount > fieldCount)) {
      throw new WireError(off - 2, `options template ${id} has scope field count ${scopeCount} of ${fieldCount}`);
    }
    // Exporters resend their templates every few datagrams: an unchanged one keeps the object already learned
    // (and its fixed layout), compared on the wire bytes without building its fields again; commit() then only
    // refreshes its time.
    const known = lookup(id, d, ctx, pending, out.domain);
    if (known !== undefined) {
      const next = unchangedTemplate(buf, off, end, known, fieldCount, options, scopeCount, ipfix);
      if (next >= 0) {
        pending.templates.set(id, known);
        out.templatesLearned++;
        off = next;
        continue;
      }
    }
    const fields: FieldSpec[] = [];
    let minRecordLength = 0;
    let variable = false;
    for (let i = 0; i < fieldCount; i++) {
      if (off + 4 > end) throw new WireError(off, `template ${id} field ${i + 1} of ${fieldCount} is truncated`);
      let fid = buf.readUInt16BE(off);
      const length = buf.readUInt16BE(off + 2);
      off += 4;
      let enterprise = 0;
      if (ipfix && fid & 0x8000) {
        if (off + 4 > end) throw new WireError(off, `template ${id} field ${i + 1} enterprise number is truncated`);
        enterprise = buf.readUInt32BE(off);
        fid &= 0x7fff;
        off += 4;
      }
      if (length === VARIABLE) {
        if (!ipfix)
          throw new WireError(off - 2, `template ${id} field ${fid} has length 65535 (variable length is IPFIX only)`);
        variable = true;
        minRecordLength += 1;
      } else minRecordLength += length;
      const action = options && i < scopeCount ? scopeActionOf(d.kind, fid, enterprise) : actionOf(fid, enterprise);
      fields.push({ id: fid, length, enterprise, action });
    }
    // A record of zero bytes cannot be walked: the data loop would never advance.
    if (minRecordLength === 0) throw new WireError(off, `template ${id} describes records of zero bytes`);
    const template: Template = { id, fields, options, scopeCount, minRecordLength, variable, learnedAt: 0 };
    const fixed = options ? undefined : fixedLayout(fields);
    if (fixed !== undefined) template.fixed = fixed;
    pending.templates.set(id, template);
    out.templatesLearned++;
  }
}

/**
 * Where the template record at `off` ends when it repeats `known` field for field (what the general reader would
 * have built from it), else -1: then the caller reads it as a new template, with every check.
 */
function unchangedTemplate(
  buf: Buffer,
  off: number,
  end: number,
  known: Template,
  fieldCount: number,
  options: boolean,
  scopeCount: number,
  ipfix: boolean,
): number {
  if (known.options !== options || known.scopeCount !== scopeCount || known.fields.length !== fieldCount) return -1;
  for (let i = 0; i < fieldCount; i++) {
    if (off + 4 > end) return -1;
    let fid = buf.readUInt16BE(off);
    const length = buf.readUInt16BE(off + 2);
    off += 4;
    let enterprise = 0;
    if (ipfix && fid & 0x8000) {
      if (off + 4 > end) return -1;
      enterprise = buf.readUInt32BE(off);
      fid &= 0x7fff;
      off += 4;
    }
    const f = known.fields[i]!;
    if (f.id !== fid || f.length !== length || f.enterprise !== enterprise) return -1;
  }
  return off;
}

function lookup(id: number, d: Dialect, ctx: TemplatedContext, pending: Pending, domain: number): Template | undefined {
  if (pending.templates.has(id)) return pending.templates.get(id) ?? undefined;
  return ctx.cache.lookup(d.kind, ctx.exporter, domain, id, ctx.now);
}

/**
 * Per-record values, one object reused for every record of every set (decoding is synchronous). A class with
 * every field set in its constructor: an object literal grown field by field reallocated its property store
 * about ten times per set, which was most of the decoders' allocation.
 */
class Scratch {
  /** Which address fields the record had; an IPv4 address (or IPv4-mapped IPv6) is in src4/dst4, else src6/dst6. */
  hasSrc = false;
  hasDst = false;
  src4 = 0;
  dst4 = 0;
  src6: string | undefined = undefined;
  dst6: string | undefined = undefined;
  family: 4 | 6 = 4;
  srcPort = 0;
  dstPort = 0;
  protocol = 0;
  tcpFlags = 0;
  packets = -1;
  bytes = -1;
  packetsTotal = -1;
  bytesTotal = -1;
  inputIf = 0;
  outputIf = 0;
  ttl: number | undefined = undefined;
  icmp = -1;
  icmpType = -1;
  icmpCode = 0;
  samplerId: number | undefined = undefined;
  interval = 0;
  randomInterval = 0;
  packetInterval = 0;
  packetSpace = 0;
  samplingSize = 0;
  samplingPopulation = 0;
  /** Options records: the interface their scope names (-1: none). */
  scopeIf = -1;
}

const scratch = new Scratch();

function resetScratch(s: Scratch): void {
  s.hasSrc = false;
  s.hasDst = false;
  s.src4 = 0;
  s.dst4 = 0;
  s.src6 = undefined;
  s.dst6 = undefined;
  s.family = 4;
  s.srcPort = 0;
  s.dstPort = 0;
  s.protocol = 0;
  s.tcpFlags = 0;
  s.packets = -1;
  s.bytes = -1;
  s.packetsTotal = -1;
  s.bytesTotal = -1;
  s.inputIf = 0;
  s.outputIf = 0;
  s.ttl = undefined;
  s.icmp = -1;
  s.icmpType = -1;
  s.icmpCode = 0;
  s.samplerId = undefined;
  s.interval = 0;
  s.randomInterval = 0;
  s.packetInterval = 0;
  s.packetSpace = 0;
  s.samplingSize = 0;
  s.samplingPopulation = 0;
  s.scopeIf = -1;
}

function readField(buf: Buffer, off: number, len: number, action: number, s: Scratch): void {
  switch (action) {
    case A.skip:
      break;
    case A.octets:
      s.bytes = readUint(buf, off, len);
      break;
    case A.packets:
      s.packets = readUint(buf, off, len);
      break;
    case A.octetsTotal:
      s.bytesTotal = readUint(buf, off, len);
      break;
    case A.packetsTotal:
      s.packetsTotal = readUint(buf, off, len);
      break;
    case A.protocol:
      s.protocol = readUint(buf, off, len) & 0xff;
      break;
    case A.tcpFlags:
      s.tcpFlags = readUint(buf, off, len) & 0xff;
      break;
    case A.srcPort:
      s.srcPort = readUint(buf, off, len) & 0xffff;
      break;
    case A.dstPort:
      s.dstPort = readUint(buf, off, len) & 0xffff;
      break;
    case A.srcV4:
      if (len === 4) {
        s.hasSrc = true;
        s.src4 = ((buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!) >>> 0;
        s.src6 = undefined;
        s.family = 4;
      }
      break;
    case A.dstV4:
      if (len === 4) {
        s.hasDst = true;
        s.dst4 = ((buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!) >>> 0;
        s.dst6 = undefined;
        s.family = 4;
      }
      break;
    case A.srcV6:
      if (len === 16) {
        s.hasSrc = true;
        readV6(buf, off, s, true);
      }
      break;
    case A.dstV6:
      if (len === 16) {
        s.hasDst = true;
        readV6(buf, off, s, false);
      }
      break;
    case A.inputIf:
      s.inputIf = readUint(buf, off, len);
      break;
    case A.outputIf:
      s.outputIf = readUint(buf, off, len);
      break;
    case A.icmp:
      s.icmp = readUint(buf, off, len) & 0xffff;
      break;
    case A.icmpType:
      s.icmpType = readUint(buf, off, len) & 0xff;
      break;
    case A.icmpCode:
      s.icmpCode = readUint(buf, off, len) & 0xff;
      break;
    case A.ttl:
      s.ttl = readUint(buf, off, len) & 0xff;
      break;
    case A.minTtl:
      if (s.ttl === undefined) s.ttl = readUint(buf, off, len) & 0xff;
      break;
    case A.samplerId:
      s.samplerId = readUint(buf, off, len);
      break;
    case A.interval:
      s.interval = readUint(buf, off, len);
      break;
    case A.randomInterval:
      s.randomInterval = readUint(buf, off, len);
      break;
    case A.packetInterval:
      s.packetInterval = readUint(buf, off, len);
      break;
    case A.packetSpace:
      s.packetSpace = readUint(buf, off, len);
      break;
    case A.samplingSize:
      s.samplingSize = readUint(buf, off, len);
      break;
    case A.samplingPopulation:
      s.samplingPopulation = readUint(buf, off, len);
      break;
    case A.scopeInterface:
      s.scopeIf = readUint(buf, off, len);
      break;
    default:
      break;
  }
}

/** An IPv6 address field; an IPv4-mapped one counts as the IPv4 address it maps (family 4). */
function readV6(buf: Buffer, off: number, s: Scratch, src: boolean): void {
  const mapped = isV4Mapped(buf, off);
  const v4 = mapped ? u32(buf, off + 12) : 0;
  const v6 = mapped ? undefined : ipv6TextAt(buf, off);
  if (src) {
    s.src4 = v4;
    s.src6 = v6;
  } else {
    s.dst4 = v4;
    s.dst6 = v6;
  }
  s.family = mapped ? 4 : 6;
}

/** The rate a record (or options record) states itself, if any. 0 and nonsense are "not stated". */
function statedRate(s: Scratch): number | undefined {
  if (s.interval > 0) return s.interval;
  if (s.randomInterval > 0) return s.randomInterval;
  if (s.packetInterval > 0) return (s.packetInterval + s.packetSpace) / s.packetInterval;
  if (s.samplingSize > 0 && s.samplingPopulation >= s.samplingSize) return s.samplingPopulation / s.samplingSize;
  return undefined;
}

/** Field actions a fixed layout covers: everything an IPv4 flow record needs except sampling fields. */
const FIXED_ACTIONS = new Set<number>([
  A.octets,
  A.packets,
  A.octetsTotal,
  A.packetsTotal,
  A.protocol,
  A.tcpFlags,
  A.srcPort,
  A.dstPort,
  A.srcV4,
  A.dstV4,
  A.inputIf,
  A.outputIf,
  A.icmp,
  A.icmpType,
  A.icmpCode,
  A.ttl,
  A.minTtl,
]);
const ACTIONS = 28;

/** Switches the fixed-layout path off (tests compare it with the general path); on in production. */
export const templatedPaths = { fixedLayouts: true };

/**
 * The fixed layout of a data template, when it has one: no variable-length field, IPv4 source and destination of
 * 4 bytes, each field ft reads at most once, no sampling fields. Most exporters' IPv4 templates qualify. Their
 * records are then read directly at known offsets instead of through the loop over every field (half the
 * decoding time for a typical 16-field template). Anything else keeps the general path, which is the reference.
 */
function fixedLayout(fields: FieldSpec[]): FixedLayout | undefined {
  const at = new Int32Array(ACTIONS).fill(-1);
  const len = new Int32Array(ACTIONS);
  let off = 0;
  for (const f of fields) {
    if (f.length === VARIABLE) return undefined;
    if (f.action !== A.skip) {
      if (!FIXED_ACTIONS.has(f.action) || at[f.action] !== -1) return undefined;
      at[f.action] = off;
      len[f.action] = f.length;
    }
    off += f.length;
  }
  if (len[A.srcV4] !== 4 || len[A.dstV4] !== 4 || at[A.srcV4] === -1 || at[A.dstV4] === -1) return undefined;
  return { recordLength: off, at, len };
}

/** The unsigned value of field `action` of the record at `o`, or `absent` when the layout has no such field. */
function fieldAt(buf: Buffer, o: number, layout: FixedLayout, action: number, absent: number): number {
  const at = layout.at[action]!;
  return at === -1 ? absent : readUint(buf, o + at, layout.len[action]!);
}

/**
 * Where a record's rate comes from when it states none: the options data the exporter announced (in this
 * datagram or before), by the record's sampler id, then by its interfaces (input first: sampling is usually
 * configured on ingress), then exporter/domain-wide. Resolved once per data set: the per-record work is then
 * only what the announcements require.
 */
class RateSource {
  private pending: Pending['sampling'] = [];
  private state: SamplingState | undefined;
  /** Rates keyed by sampler or interface exist: records need a per-record lookup. */
  perRecord = false;
  /** The exporter/domain-wide rate (0: none). */
  wide = 0;

  reset(d: Dialect, ctx: TemplatedContext, pending: Pending, domain: number): void {
    this.pending = pending.sampling;
    this.state = ctx.cache.samplingState(d.kind, ctx.exporter, domain);
    let scoped = this.state !== undefined && (this.state.bySampler.size > 0 || this.state.byInterface.size > 0);
    for (let i = 0; i < this.pending.length && !scoped; i++) {
      const p = this.pending[i]!;
      scoped = p.samplerId !== undefined || p.ifIndex !== undefined;
    }
    this.perRecord = scoped;
    this.wide = this.forDomain();
  }

  /** The announced rate for a record with this sampler id and these interfaces (0: none known), 0 when unknown. */
  lookup(samplerId: number | undefined, inIf: number, outIf: number): number {
    if (samplerId !== undefined) {
      const r = this.forSampler(samplerId);
      if (r > 0) return r;
    }
    if (inIf > 0) {
      const r = this.forInterface(inIf);
      if (r > 0) return r;
    }
    if (outIf > 0) {
      const r = this.forInterface(outIf);
      if (r > 0) return r;
    }
    return this.wide;
  }

  // This datagram's announcements (pending) are newer than the cache's, and the latest of them wins.
  private forSampler(id: number): number {
    for (let i = this.pending.length - 1; i >= 0; i--)
      if (this.pending[i]!.samplerId === id) return this.pending[i]!.rate;
    return this.state?.bySampler.get(id) ?? 0;
  }

  private forInterface(ifIndex: number): number {
    for (let i = this.pending.length - 1; i >= 0; i--) {
      const a = this.pending[i]!;
      if (a.samplerId === undefined && a.ifIndex === ifIndex) return a.rate;
    }
    return this.state?.byInterface.get(ifIndex) ?? 0;
  }

  private forDomain(): number {
    for (let i = this.pending.length - 1; i >= 0; i--) {
      const a = this.pending[i]!;
      if (a.samplerId === undefined && a.ifIndex === undefined) return a.rate;
    }
    return this.state?.rate ?? 0;
  }
}

const rates = new RateSource();

/** readData for a template with a fixed layout: the same records, field values and errors as the general path. */
function readFixed(
  buf: Buffer,
  off: number,
  end: number,
  layout: FixedLayout,
  d: Dialect,
  ctx: TemplatedContext,
  pending: Pending,
  out: DecodedDatagram,
): void {
  const b = ctx.batch;
  const step = layout.recordLength;
  const src = layout.at[A.srcV4]!;
  const dst = layout.at[A.dstV4]!;
  rates.reset(d, ctx, pending, out.domain);
  const perRecord = rates.perRecord;
  for (; off + step <= end; off += step) {
    if (d.kind === 'ipfix') out.sequenceAdvance++;
    const protocol = fieldAt(buf, off, layout, A.protocol, 0) & 0xff;
    const isIcmp = protocol === 1 || protocol === 58;
    const icmp = fieldAt(buf, off, layout, A.icmp, -1);
    const icmpType = fieldAt(buf, off, layout, A.icmpType, -1);
    const icmpValue =
      icmp >= 0
        ? icmp & 0xffff
        : icmpType >= 0
          ? (icmpType & 0xff) * 256 + (fieldAt(buf, off, layout, A.icmpCode, 0) & 0xff)
          : -1;
    const packets = fieldAt(buf, off, layout, A.packets, -1);
    const bytes = fieldAt(buf, off, layout, A.octets, -1);
    const ttl = fieldAt(buf, off, layout, A.ttl, -1);
    const minTtl = ttl >= 0 ? -1 : fieldAt(buf, off, layout, A.minTtl, -1);
    const inIf = fieldAt(buf, off, layout, A.inputIf, 0);
    const outIf = fieldAt(buf, off, layout, A.outputIf, 0);
    const k = b.push();
    b.family[k] = 4;
    b.src4[k] =
      ((buf[off + src]! << 24) | (buf[off + src + 1]! << 16) | (buf[off + src + 2]! << 8) | buf[off + src + 3]!) >>> 0;
    b.dst4[k] =
      ((buf[off + dst]! << 24) | (buf[off + dst + 1]! << 16) | (buf[off + dst + 2]! << 8) | buf[off + dst + 3]!) >>> 0;
    b.srcPort[k] = isIcmp ? 0 : fieldAt(buf, off, layout, A.srcPort, 0) & 0xffff;
    b.dstPort[k] = isIcmp && icmpValue >= 0 ? icmpValue : fieldAt(buf, off, layout, A.dstPort, 0) & 0xffff;
    b.protocol[k] = protocol;
    b.tcpFlags[k] = fieldAt(buf, off, layout, A.tcpFlags, 0) & 0xff;
    b.packets[k] = packets >= 0 ? packets : Math.max(0, fieldAt(buf, off, layout, A.packetsTotal, -1));
    b.bytes[k] = bytes >= 0 ? bytes : Math.max(0, fieldAt(buf, off, layout, A.octetsTotal, -1));
    b.samplingRate[k] = perRecord ? rates.lookup(undefined, inIf, outIf) : rates.wide;
    b.inputIf[k] = inIf;
    b.outputIf[k] = outIf;
    if (ttl >= 0) b.ttl[k] = ttl & 0xff;
    else if (minTtl >= 0) b.ttl[k] = minTtl & 0xff;
  }
}

function readData(
  buf: Buffer,
  off: number,
  end: number,
  setId: number,
  d: Dialect,
  ctx: TemplatedContext,
  pending: Pending,
  out: DecodedDatagram,
): void {
  const template = lookup(setId, d, ctx, pending, out.domain);
  if (template === undefined) {
    out.templateMisses++;
    return;
  }
  if (template.fixed !== undefined && templatedPaths.fixedLayouts) {
    readFixed(buf, off, end, template.fixed, d, ctx, pending, out);
    return;
  }
  const s = scratch;
  const fields = template.fields;
  if (!template.options) rates.reset(d, ctx, pending, out.domain);
  while (off + template.minRecordLength <= end) {
    resetScratch(s);
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i] as FieldSpec;
      let len = f.length;
      if (len === VARIABLE) {
        if (off + 1 > end) throw new WireError(off, `variable-length field ${f.id} of template ${setId} is truncated`);
        len = buf[off] as number;
        off += 1;
        if (len === 255) {
          if (off + 2 > end)
            throw new WireError(off, `long variable-length field ${f.id} of template ${setId} is truncated`);
          len = buf.readUInt16BE(off);
          off += 2;
        }
      }
      if (off + len > end)
        throw new WireError(off, `field ${f.id} (${len} bytes) of template ${setId} runs past its set`);
      readField(buf, off, len, f.action, s);
      off += len;
    }
    if (d.kind === 'ipfix') out.sequenceAdvance++;
    if (template.options) {
      const rate = statedRate(s);
      if (rate !== undefined)
        // Interface 0 is no interface (SNMP ifIndex starts at 1): softflowd scopes its exporter-wide rate to it.
        pending.sampling.push({ samplerId: s.samplerId, ifIndex: s.scopeIf > 0 ? s.scopeIf : undefined, rate });
      continue;
    }
    // Without a destination there is no target to count it for (an L2-only template): counted, not attributed.
    if (!s.hasDst) {
      out.recordsWithoutDestination++;
      continue;
    }
    const icmpValue = s.icmp >= 0 ? s.icmp : s.icmpType >= 0 ? s.icmpType * 256 + s.icmpCode : -1;
    const isIcmp = s.protocol === 1 || s.protocol === 58;
    const b = ctx.batch;
    const k = b.push();
    // A template without a source address: the traffic still counts for its destination, its source is unknown.
    b.srcKnown[k] = s.hasSrc ? 1 : 0;
    b.family[k] = s.family;
    b.src4[k] = s.src4;
    b.dst4[k] = s.dst4;
    b.src6[k] = s.src6;
    b.dst6[k] = s.dst6;
    b.srcPort[k] = isIcmp ? 0 : s.srcPort;
    b.dstPort[k] = isIcmp && icmpValue >= 0 ? icmpValue : s.dstPort;
    b.protocol[k] = s.protocol;
    b.tcpFlags[k] = s.tcpFlags;
    b.packets[k] = s.packets >= 0 ? s.packets : Math.max(0, s.packetsTotal);
    b.bytes[k] = s.bytes >= 0 ? s.bytes : Math.max(0, s.bytesTotal);
    b.samplingRate[k] =
      statedRate(s) ?? (rates.perRecord ? rates.lookup(s.samplerId, s.inputIf, s.outputIf) : rates.wide);
    b.inputIf[k] = s.inputIf;
    b.outputIf[k] = s.outputIf;
    if (s.ttl !== undefined) b.ttl[k] = s.ttl;
  }
}

function commit(d: Dialect, ctx: TemplatedContext, out: DecodedDatagram, pending: Pending): void {
  for (const options of pending.withdrawAll) ctx.cache.deleteAll(d.kind, ctx.exporter, out.domain, options);
  // forEach: for..of over a Map makes an [id, template] pair per entry, for every template-bearing datagram.
  pending.templates.forEach((t, id) => {
    const key = TemplateCache.key(d.kind, out.domain, id);
    if (t === null) ctx.cache.delete(ctx.exporter, key);
    else {
      t.learnedAt = ctx.now;
      ctx.cache.set(ctx.exporter, key, t);
    }
  });
  for (const p of pending.sampling)
    ctx.cache.setSamplingRate(d.kind, ctx.exporter, out.domain, { samplerId: p.samplerId, ifIndex: p.ifIndex }, p.rate);
}
