import { Prefix } from './prefix.js';
import { PrefixSet } from './prefix-set.js';

/**
 * Source addresses that never belong to a real host on the Internet, IPv4 and IPv6 (RFC 6890 special-purpose
 * space that is not globally reachable, plus multicast and reserved space). A packet "from" one is spoofed or
 * leaked; putting one in a block list blocks nothing real and, at a vendor filter, can block a whole zone's
 * internal traffic. One table for everything that builds a block list (the planner) or checks one (the rails).
 *
 * Deliberately absent: the documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32).
 * They are not routable either, but ft's labs, tests and examples use them as attackers (nothing else may be
 * used there), and blocking one is harmless.
 */
export const BOGONS: readonly Prefix[] = Object.freeze(
  [
    '0.0.0.0/8', // "this network" (RFC 791, RFC 1122)
    '10.0.0.0/8', // private (RFC 1918)
    '100.64.0.0/10', // shared address space, carrier-grade NAT (RFC 6598)
    '127.0.0.0/8', // loopback (RFC 1122)
    '169.254.0.0/16', // link-local (RFC 3927)
    '172.16.0.0/12', // private (RFC 1918)
    '192.0.0.0/24', // IETF protocol assignments (RFC 6890)
    '192.88.99.0/24', // deprecated 6to4 relay anycast (RFC 7526)
    '192.168.0.0/16', // private (RFC 1918)
    '198.18.0.0/15', // benchmarking (RFC 2544)
    '224.0.0.0/4', // multicast (RFC 5771)
    '240.0.0.0/4', // reserved, and the limited broadcast 255.255.255.255 (RFC 1112, RFC 919)
    '::/8', // unspecified, loopback, IPv4-compatible and the rest of IETF-reserved ::/8 (RFC 4291)
    '64:ff9b:1::/48', // local-use IPv4/IPv6 translation (RFC 8215)
    '100::/64', // discard-only (RFC 6666)
    '2001:2::/48', // benchmarking (RFC 5180)
    '2001:10::/28', // ORCHID, deprecated (RFC 4843)
    '3ffe::/16', // 6bone, returned (RFC 3701)
    'fc00::/7', // unique local (RFC 4193)
    'fe80::/10', // link-local (RFC 4291)
    'fec0::/10', // site-local, deprecated (RFC 3879)
    'ff00::/8', // multicast (RFC 4291)
  ].map((p) => Prefix.parse(p)),
);

const bogonSet = new PrefixSet(BOGONS);

/** The bogon block that holds `p` (or that `p` overlaps), if any. */
export function bogonOf(p: Prefix): Prefix | undefined {
  return bogonSet.overlapping(p);
}
