import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import type * as protobuf from 'protobufjs';
import type { AnyJson } from './render.js';

/** Where Debian's golang-github-osrg-gobgp-dev installs GoBGP's API definitions. */
export const DEFAULT_PROTO_DIR = '/usr/share/gocode/src/github.com/osrg/gobgp/api';
const FILES = ['gobgp.proto', 'attribute.proto', 'capability.proto'];

export class GobgpProtoError extends Error {
  override name = 'GobgpProtoError';
}

/** A protobuf Any as it travels on the wire. */
export interface AnyWire {
  type_url: string;
  value: Buffer;
}

export interface GobgpApi {
  service: grpc.ServiceClientConstructor;
  /** Encodes an Any (and every Any nested in it) with the message types of the loaded .proto files. */
  pack(json: AnyJson): AnyWire;
  /** Decodes an Any (and every Any nested in it) into its JSON form. */
  unpack(wire: AnyWire): AnyJson;
}

const cache = new Map<string, Promise<GobgpApi>>();

/** Loads GoBGP's own .proto files once per directory (they are never copied into ft). */
export function loadGobgpApi(protoDir = DEFAULT_PROTO_DIR): Promise<GobgpApi> {
  let loaded = cache.get(protoDir);
  if (!loaded) {
    loaded = load(protoDir);
    loaded.catch(() => cache.delete(protoDir));
    cache.set(protoDir, loaded);
  }
  return loaded;
}

async function load(protoDir: string): Promise<GobgpApi> {
  const missing = FILES.filter((f) => !existsSync(join(protoDir, f)));
  if (missing.length > 0) {
    throw new GobgpProtoError(
      `GoBGP API definitions not found: ${missing.join(', ')} missing in ${protoDir}. ` +
        'Install them with `apt-get install golang-github-osrg-gobgp-dev` (matching your gobgpd version) or set protoDir.',
    );
  }
  const [grpcJs, loader, pb] = await Promise.all([
    import('@grpc/grpc-js'),
    import('@grpc/proto-loader'),
    import('protobufjs'),
  ]);
  const protobufjs = (pb as unknown as { default?: typeof protobuf }).default ?? pb;
  const definition = loader.loadSync(
    FILES.map((f) => join(protoDir, f)),
    {
      keepCase: true,
      longs: Number,
      enums: String,
      defaults: true,
      oneofs: true,
      includeDirs: [protoDir],
    },
  );
  const pkg = grpcJs.loadPackageDefinition(definition) as unknown as {
    apipb?: { GobgpApi?: grpc.ServiceClientConstructor };
  };
  const service = pkg.apipb?.GobgpApi;
  if (!service) throw new GobgpProtoError(`${join(protoDir, 'gobgp.proto')} does not define apipb.GobgpApi`);

  const root = new protobufjs.Root();
  root.resolvePath = (_origin, target) =>
    target.startsWith('google/protobuf/') || isAbsolute(target) ? target : join(protoDir, target);
  root.loadSync(
    FILES.map((f) => join(protoDir, f)),
    { keepCase: true },
  );
  root.resolveAll();

  const typeOf = (url: string): protobuf.Type => {
    const name = url.slice(url.lastIndexOf('/') + 1);
    try {
      return root.lookupType(name);
    } catch {
      throw new GobgpProtoError(`${name} is not a message of the loaded GoBGP API (${protoDir})`);
    }
  };

  const packDeep = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(packDeep);
    if (value && typeof value === 'object' && !Buffer.isBuffer(value)) {
      if ('@type' in value) return pack(value as AnyJson);
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, packDeep(v)]));
    }
    return value;
  };
  const pack = (json: AnyJson): AnyWire => {
    const type = typeOf(json['@type']);
    const { '@type': url, ...fields } = json;
    const message = type.fromObject(packDeep(fields) as Record<string, unknown>);
    return { type_url: url, value: Buffer.from(type.encode(message).finish()) };
  };

  const unpackDeep = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(unpackDeep);
    if (value && typeof value === 'object' && !Buffer.isBuffer(value) && !(value instanceof Uint8Array)) {
      if ('type_url' in value && 'value' in value) return unpack(value as AnyWire);
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unpackDeep(v)]));
    }
    return value;
  };
  const unpack = (wire: AnyWire): AnyJson => {
    const type = typeOf(wire.type_url);
    // An empty payload may arrive as [] rather than a Buffer.
    const bytes = Buffer.isBuffer(wire.value) ? wire.value : Buffer.from(wire.value ?? []);
    const object = type.toObject(type.decode(bytes), { longs: Number, enums: String, defaults: true, arrays: true });
    return { '@type': wire.type_url, ...(unpackDeep(object) as Record<string, unknown>) };
  };

  return { service, pack, unpack };
}
