import { readFile } from 'node:fs/promises';
import { Prefix, PrefixError } from '@ft/sdk';
import { VrpTable } from './vrp-table.js';

/** A VRP file that cannot be used, with where in it and why. */
export class VrpFileError extends Error {
  constructor(
    readonly source: string,
    message: string,
  ) {
    super(`${source}: ${message}`);
    this.name = 'VrpFileError';
  }
}

export interface VrpFile {
  table: VrpTable;
  /** `metadata.buildtime` (or `generated`, as rpki-client writes it), when the file has one. */
  builtAt?: Date;
  /** Entries that repeated an earlier one (a set has each VRP once). */
  duplicates: number;
}

/** Parses the JSON that stayrtr's `-cache` and rpki-client's `-j` use: {"metadata":{...},"roas":[{prefix,maxLength,asn}]}. */
export function parseVrpJson(text: string, source = 'VRP file'): VrpFile {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new VrpFileError(source, `not JSON (${(err as Error).message})`);
  }
  if (typeof doc !== 'object' || doc === null || !Array.isArray((doc as { roas?: unknown }).roas)) {
    throw new VrpFileError(source, 'expected an object with a "roas" array');
  }
  const roas = (doc as { roas: unknown[] }).roas;
  const table = new VrpTable();
  let duplicates = 0;
  roas.forEach((roa, i) => {
    const where = `roas[${i}]`;
    if (typeof roa !== 'object' || roa === null) throw new VrpFileError(source, `${where} is not an object`);
    const r = roa as { prefix?: unknown; maxLength?: unknown; asn?: unknown };
    if (typeof r.prefix !== 'string') throw new VrpFileError(source, `${where}.prefix must be a string`);
    let prefix: Prefix;
    try {
      prefix = Prefix.parse(r.prefix);
    } catch (err) {
      throw new VrpFileError(source, `${where}.prefix: ${err instanceof PrefixError ? err.message : String(err)}`);
    }
    const bits = prefix.family === 4 ? 32 : 128;
    const maxLength = r.maxLength === undefined ? prefix.length : r.maxLength;
    if (
      typeof maxLength !== 'number' ||
      !Number.isInteger(maxLength) ||
      maxLength < prefix.length ||
      maxLength > bits
    ) {
      throw new VrpFileError(
        source,
        `${where}.maxLength must be an integer from ${prefix.length} to ${bits}, got ${JSON.stringify(r.maxLength)}`,
      );
    }
    const asn = parseAsn(r.asn);
    if (asn === undefined)
      throw new VrpFileError(
        source,
        `${where}.asn must be a number or "AS<number>" within 0..4294967295, got ${JSON.stringify(r.asn)}`,
      );
    if (!table.add({ prefix, maxLength, asn })) duplicates++;
  });
  const meta = (doc as { metadata?: { buildtime?: unknown; generated?: unknown } }).metadata;
  let builtAt: Date | undefined;
  if (meta && typeof meta.buildtime === 'string' && !Number.isNaN(Date.parse(meta.buildtime)))
    builtAt = new Date(meta.buildtime);
  else if (meta && typeof meta.generated === 'number') builtAt = new Date(meta.generated * 1000);
  return { table, duplicates, ...(builtAt ? { builtAt } : {}) };
}

export async function readVrpFile(path: string): Promise<VrpFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new VrpFileError(path, `cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return parseVrpJson(text, path);
}

export async function loadVrpFile(path: string): Promise<VrpTable> {
  return (await readVrpFile(path)).table;
}

/** "AS64500", "as64500", 64500 or "64500" → 64500; anything else (or outside 32 bits) → undefined. */
export function parseAsn(value: unknown): number | undefined {
  let n: number;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string' && /^(AS)?[0-9]{1,10}$/i.test(value.trim()))
    n = Number(value.trim().replace(/^AS/i, ''));
  else return undefined;
  return Number.isInteger(n) && n >= 0 && n <= 0xffffffff ? n : undefined;
}
