import type * as grpc from '@grpc/grpc-js';
import { Prefix, parseHostPort } from '@ft/sdk';
import { loadGobgpApi, type AnyWire, type GobgpApi } from './proto.js';
import type { AnyJson, FamilyJson, PathJson } from './render.js';

export type TableType = 'GLOBAL' | 'ADJ_IN' | 'ADJ_OUT';

export interface GobgpClientOptions {
  /** "host:port", "[v6]:port" or "unix:///absolute/path.sock". */
  address: string;
  protoDir?: string;
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer; serverName?: string };
  /** Sent as per-call metadata, for a gobgpd behind an authenticating gRPC proxy. Read at each call. */
  auth?: { header: string; value: () => string };
  /** Deadline of unary calls and list streams. */
  timeoutMs?: number;
}

/** A path as GoBGP lists it: decoded attributes plus the raw wire form, which is what DeletePath gets back. */
export interface ListedPath {
  /** GoBGP's text form of the NLRI ("[destination: 203.0.113.10/32][protocol: ==udp]" or "203.0.113.10/32"). */
  prefix: string;
  family: FamilyJson;
  nlri: AnyJson;
  pattrs: AnyJson[];
  neighborIp: string;
  isFromExternal: boolean;
  isWithdraw: boolean;
  raw: RawPath;
}

export interface RawPath {
  nlri: AnyWire;
  pattrs: AnyWire[];
  family: FamilyJson;
  [field: string]: unknown;
}

export interface PeerInfo {
  address: string;
  peerAsn: number;
  state: string;
  adminState: string;
  /** Session flaps gobgpd counted for this neighbor. */
  flops: number;
}

export type PeerEvent = { type: 'peer'; peer: PeerInfo } | { type: 'table'; paths: ListedPath[] };

/** Validates an address before it reaches the gRPC channel. */
export function parseAddress(address: string): string {
  if (address.startsWith('unix:///')) {
    if (/[\0\s]/.test(address))
      throw new Error(`gobgp address ${JSON.stringify(address)} has whitespace in the socket path`);
    return address;
  }
  try {
    parseHostPort(address);
  } catch (err) {
    throw new Error(
      `gobgp address ${JSON.stringify(address)} is not host:port, [ipv6]:port or unix:///path: ${(err as Error).message}`,
      { cause: err },
    );
  }
  return address;
}

type Unary = (
  req: unknown,
  md: grpc.Metadata,
  opts: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res: unknown) => void,
) => void;
type Stream = (req: unknown, md: grpc.Metadata, opts: grpc.CallOptions) => grpc.ClientReadableStream<unknown>;

export class GobgpClient {
  private constructor(
    readonly address: string,
    private readonly api: GobgpApi,
    private readonly stub: grpc.Client,
    private readonly grpcJs: typeof grpc,
    private readonly options: GobgpClientOptions,
  ) {}

  /** Builds the channel; gRPC connects on the first call and reconnects by itself after gobgpd restarts. */
  static async create(options: GobgpClientOptions): Promise<GobgpClient> {
    const address = parseAddress(options.address);
    const api = await loadGobgpApi(options.protoDir);
    const grpcJs = await import('@grpc/grpc-js');
    const tls = options.tls;
    const credentials = tls
      ? grpcJs.credentials.createSsl(tls.ca ?? null, tls.key ?? null, tls.cert ?? null)
      : grpcJs.credentials.createInsecure();
    const channelOptions: grpc.ChannelOptions = {
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 2000,
    };
    if (tls?.serverName) channelOptions['grpc.ssl_target_name_override'] = tls.serverName;
    const stub = new api.service(address, credentials, channelOptions);
    return new GobgpClient(address, api, stub, grpcJs, options);
  }

  get pack() {
    return this.api.pack;
  }

  private metadata(): grpc.Metadata {
    const md = new this.grpcJs.Metadata();
    if (this.options.auth) md.set(this.options.auth.header, this.options.auth.value());
    return md;
  }

  private deadline(): grpc.CallOptions {
    return { deadline: Date.now() + (this.options.timeoutMs ?? 5000) };
  }

  private unary<T>(method: string, request: unknown): Promise<T> {
    const fn = (this.stub as unknown as Record<string, Unary>)[method] as Unary;
    return new Promise((resolve, reject) => {
      fn.call(this.stub, request, this.metadata(), this.deadline(), (err, res) =>
        err
          ? reject(new Error(`gobgp ${method} at ${this.address}: ${err.details || err.message}`))
          : resolve(res as T),
      );
    });
  }

  private collect<T>(method: string, request: unknown): Promise<T[]> {
    const fn = (this.stub as unknown as Record<string, Stream>)[method] as Stream;
    return new Promise((resolve, reject) => {
      const out: T[] = [];
      const call = fn.call(this.stub, request, this.metadata(), this.deadline());
      call.on('data', (d: T) => out.push(d));
      call.on('error', (err: grpc.ServiceError) =>
        reject(new Error(`gobgp ${method} at ${this.address}: ${err.details || err.message}`)),
      );
      call.on('end', () => resolve(out));
    });
  }

  toWire(path: PathJson): RawPath {
    return { family: path.family, nlri: this.api.pack(path.nlri), pattrs: path.pattrs.map((a) => this.api.pack(a)) };
  }

  async addPath(path: PathJson): Promise<Buffer> {
    const res = await this.unary<{ uuid: Buffer }>('AddPath', { table_type: 'GLOBAL', path: this.toWire(path) });
    return res.uuid;
  }

  /** Deletes exactly this path. There is deliberately no way to delete by family alone (that wipes the table). */
  async deletePath(path: RawPath): Promise<void> {
    if (!path?.nlri?.type_url)
      throw new Error('refusing DeletePath without an NLRI: GoBGP would delete the whole family');
    await this.unary('DeletePath', { table_type: 'GLOBAL', family: path.family, path: { ...path, is_withdraw: true } });
  }

  async listPath(table: TableType, family: FamilyJson, neighbor = ''): Promise<ListedPath[]> {
    const rows = await this.collect<{ destination: { prefix: string; paths: RawPath[] } }>('ListPath', {
      table_type: table,
      name: neighbor,
      family,
    });
    return rows.flatMap((r) => r.destination.paths.map((p) => this.decodePath(r.destination.prefix, p)));
  }

  decodePath(prefix: string, raw: RawPath): ListedPath {
    return {
      prefix,
      family: raw.family,
      nlri: this.api.unpack(raw.nlri),
      pattrs: (raw.pattrs ?? []).map((a) => this.api.unpack(a)),
      neighborIp: typeof raw.neighbor_ip === 'string' ? raw.neighbor_ip : '',
      isFromExternal: Boolean(raw.is_from_external),
      isWithdraw: Boolean(raw.is_withdraw),
      raw,
    };
  }

  async listPeers(): Promise<PeerInfo[]> {
    const rows = await this.collect<{ peer: RawPeer }>('ListPeer', { address: '', enableAdvertised: false });
    return rows.map((r) => peerInfo(r.peer));
  }

  /** Adds a neighbor at runtime (the lab uses it to peer ctl with extra edges), with every family ft announces. */
  async addPeer(peer: { address: string; asn: number; families: FamilyJson[]; passive?: boolean }): Promise<void> {
    Prefix.parse(peer.address);
    await this.unary('AddPeer', {
      peer: {
        conf: { neighbor_address: peer.address, peer_asn: peer.asn },
        timers: { config: { connect_retry: 1, hold_time: 9, keepalive_interval: 3, idle_hold_time_after_reset: 1 } },
        transport: { passive_mode: Boolean(peer.passive) },
        afi_safis: peer.families.map((family) => ({ config: { family, enabled: true } })),
      },
    });
  }

  async resetPeer(address: string): Promise<void> {
    await this.unary('ResetPeer', { address, communication: 'ft', soft: false });
  }

  /**
   * Streams peer state changes and, when `table` is set, table changes (ADJIN: what neighbors sent; BEST: the
   * best paths). The callback gets decoded events; `onEnd` is called once when the stream stops for any reason.
   */
  watch(
    opts: { peers?: boolean; table?: 'ADJIN' | 'BEST'; init?: boolean },
    onEvent: (e: PeerEvent) => void,
    onEnd: (err?: Error) => void,
    onOpen?: () => void,
  ): () => void {
    const request: Record<string, unknown> = {};
    if (opts.peers) request.peer = {};
    if (opts.table) request.table = { filters: [{ type: opts.table, init: opts.init ?? true }] };
    const fn = (this.stub as unknown as Record<string, Stream>).WatchEvent as Stream;
    const call = fn.call(this.stub, request, this.metadata(), {});
    let ended = false;
    // Response headers arrive once gobgpd accepted the stream: the moment a reconnect has really succeeded.
    call.on('metadata', () => onOpen?.());
    const end = (err?: Error) => {
      if (ended) return;
      ended = true;
      onEnd(err);
    };
    call.on('data', (d: { peer?: { peer: RawPeer } | null; table?: { paths: RawPath[] } | null }) => {
      try {
        if (d.peer?.peer) onEvent({ type: 'peer', peer: peerInfo(d.peer.peer) });
        if (d.table) onEvent({ type: 'table', paths: (d.table.paths ?? []).map((p) => this.decodePath('', p)) });
      } catch (err) {
        end(err as Error);
        call.cancel();
      }
    });
    call.on('error', (err: grpc.ServiceError) =>
      end(
        err.code === this.grpcJs.status.CANCELLED
          ? undefined
          : new Error(`gobgp WatchEvent at ${this.address}: ${err.details || err.message}`),
      ),
    );
    call.on('end', () => end());
    return () => {
      ended = true;
      call.cancel();
    };
  }

  close(): void {
    this.stub.close();
  }
}

interface RawPeer {
  conf?: { neighbor_address?: string; peer_asn?: number };
  state?: {
    neighbor_address?: string;
    peer_asn?: number;
    session_state?: string;
    admin_state?: string;
    flops?: number;
  };
}

function peerInfo(p: RawPeer): PeerInfo {
  return {
    address: p.state?.neighbor_address || p.conf?.neighbor_address || '',
    peerAsn: p.state?.peer_asn || p.conf?.peer_asn || 0,
    state: p.state?.session_state ?? 'UNKNOWN',
    adminState: p.state?.admin_state ?? 'UP',
    flops: p.state?.flops ?? 0,
  };
}
