/**
 * Amplification/reflection vectors: the UDP source port a reflector answers from, and what the answer looks like.
 * Detection classifies by this table and the planner builds FlowSpec matches from it, so both agree by construction.
 */
export interface VectorInfo {
  readonly name: string;
  readonly protocol: 'udp' | 'tcp';
  readonly sourcePorts: readonly number[];
  /** Typical minimum reflected packet size in bytes (IP length), used to tighten a FlowSpec packet-length match. */
  readonly minPacketLength?: number;
  readonly description: string;
}

export const VECTORS = {
  dns: {
    name: 'dns',
    protocol: 'udp',
    sourcePorts: [53],
    minPacketLength: 512,
    description: 'DNS reflection (ANY/DNSSEC answers)',
  },
  ntp: {
    name: 'ntp',
    protocol: 'udp',
    sourcePorts: [123],
    minPacketLength: 468,
    description: 'NTP monlist reflection',
  },
  cldap: {
    name: 'cldap',
    protocol: 'udp',
    sourcePorts: [389],
    minPacketLength: 1000,
    description: 'Connectionless LDAP reflection',
  },
  ssdp: {
    name: 'ssdp',
    protocol: 'udp',
    sourcePorts: [1900],
    minPacketLength: 300,
    description: 'SSDP (UPnP) reflection',
  },
  memcached: {
    name: 'memcached',
    protocol: 'udp',
    sourcePorts: [11211],
    minPacketLength: 1000,
    description: 'memcached UDP reflection',
  },
  chargen: { name: 'chargen', protocol: 'udp', sourcePorts: [19], description: 'Character generator reflection' },
  snmp: { name: 'snmp', protocol: 'udp', sourcePorts: [161], description: 'SNMP GetBulk reflection' },
  'ws-discovery': {
    name: 'ws-discovery',
    protocol: 'udp',
    sourcePorts: [3702],
    description: 'WS-Discovery reflection',
  },
  rpc: { name: 'rpc', protocol: 'udp', sourcePorts: [111], description: 'Portmapper/rpcbind reflection' },
  netbios: { name: 'netbios', protocol: 'udp', sourcePorts: [137], description: 'NetBIOS name service reflection' },
  mssql: { name: 'mssql', protocol: 'udp', sourcePorts: [1434], description: 'MS SQL browser reflection' },
  rip: { name: 'rip', protocol: 'udp', sourcePorts: [520], description: 'RIPv1 reflection' },
  ard: { name: 'ard', protocol: 'udp', sourcePorts: [3283], description: 'Apple Remote Desktop reflection' },
  coap: { name: 'coap', protocol: 'udp', sourcePorts: [5683], description: 'CoAP reflection' },
  dtls: { name: 'dtls', protocol: 'udp', sourcePorts: [443], description: 'DTLS / QUIC-port reflection' },
  openvpn: { name: 'openvpn', protocol: 'udp', sourcePorts: [1194], description: 'OpenVPN reflection' },
  sip: { name: 'sip', protocol: 'udp', sourcePorts: [5060], description: 'SIP reflection' },
  stun: { name: 'stun', protocol: 'udp', sourcePorts: [3478], description: 'STUN/TURN reflection' },
  tftp: { name: 'tftp', protocol: 'udp', sourcePorts: [69], description: 'TFTP reflection' },
  qotd: { name: 'qotd', protocol: 'udp', sourcePorts: [17], description: 'Quote of the day reflection' },
} as const satisfies Record<string, VectorInfo>;

export type Vector = keyof typeof VECTORS;

export const VECTOR_NAMES = Object.keys(VECTORS) as Vector[];

export function isVector(name: string): name is Vector {
  return Object.prototype.hasOwnProperty.call(VECTORS, name);
}

/** The vector whose reflectors answer from this UDP source port, if any. */
export function vectorForSourcePort(port: number): Vector | undefined {
  for (const name of VECTOR_NAMES) if ((VECTORS[name].sourcePorts as readonly number[]).includes(port)) return name;
  return undefined;
}

export const IP_PROTOCOLS = { icmp: 1, tcp: 6, udp: 17, gre: 47, esp: 50, icmpv6: 58, sctp: 132 } as const;
export type ProtocolName = keyof typeof IP_PROTOCOLS;

/** A source port counts as a vector when it carries at least this share of the attack's source-port counts. */
export const VECTOR_SHARE = 0.2;

/**
 * The one rule that names amplification vectors from source ports (the classifier uses it, and so does the edge
 * that reads an incident report without a `vector`): each UDP vector's share of the port counts, those carrying at
 * least `minShare`, strongest first. Only UDP vectors exist in the table today.
 */
export function vectorsBySourcePort(
  ports: readonly { port: number; count: number }[],
  minShare = VECTOR_SHARE,
): { vector: Vector; share: number }[] {
  let total = 0;
  for (const p of ports) total += p.count;
  if (!(total > 0)) return [];
  const byVector = new Map<Vector, number>();
  for (const p of ports) {
    const v = vectorForSourcePort(p.port);
    if (v && VECTORS[v].protocol === 'udp') byVector.set(v, (byVector.get(v) ?? 0) + p.count / total);
  }
  return [...byVector]
    .map(([vector, share]) => ({ vector, share }))
    .filter((m) => m.share >= minShare)
    .sort((a, b) => b.share - a.share || a.vector.localeCompare(b.vector));
}
