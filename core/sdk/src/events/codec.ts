import { EVENT_DEFS, isEventType, wireEventSchema, type FtEvent, type WireEvent } from './schema.js';

/**
 * The edge mapping, defined once: core's event (camelCase, Prefix, epoch ms) ⇄ the wire JSON (snake_case, text,
 * ISO 8601) that the journal and Redis store, `ft events --json` prints and subscribers receive.
 */
export function encodeEvent(e: FtEvent): WireEvent {
  const d = EVENT_DEFS[e.type].data as { encode(i: unknown): unknown };
  return {
    seq: e.seq,
    id: e.id,
    type: e.type,
    at: new Date(e.at).toISOString(),
    tenant: e.tenant,
    node: e.node,
    data: d.encode(e.data),
  } as WireEvent;
}

export class EventDecodeError extends Error {
  constructor(
    readonly where: string,
    readonly problems: string[],
  ) {
    super(`${where}: not an ft event: ${problems.join('; ')}`);
    this.name = 'EventDecodeError';
  }
}

/** Wire JSON from outside (a file, the API, another process) → core's event; validated, every problem named. */
export function decodeEvent(json: unknown, where = 'event'): FtEvent {
  const parsed = wireEventSchema.safeParse(json);
  if (!parsed.success) {
    throw new EventDecodeError(
      where,
      parsed.error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(event)'}: ${i.message}`),
    );
  }
  try {
    return decodeTrusted(parsed.data);
  } catch (err) {
    // What the schema cannot see: a rule's match prefixes, a rule id that does not fit its content.
    throw new EventDecodeError(where, [(err as Error).message]);
  }
}

/**
 * Wire JSON that ft itself wrote and a checksum vouches for (the journal, the fleet stream): decoded without the
 * schema pass, which would cost more than the read. A type ft does not know (written by a newer ft) is an error
 * the reader reports and skips, never a crash.
 */
export function decodeTrusted(w: WireEvent): FtEvent {
  if (!isEventType(w.type)) throw new EventDecodeError('event', [`unknown type ${JSON.stringify(w.type)}`]);
  const d = EVENT_DEFS[w.type].data as { decode(x: unknown): unknown };
  return {
    seq: w.seq,
    id: w.id,
    type: w.type,
    at: Date.parse(w.at),
    tenant: w.tenant,
    node: w.node,
    data: d.decode(w.data),
  } as FtEvent;
}
