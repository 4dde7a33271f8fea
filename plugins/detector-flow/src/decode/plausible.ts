/**
 * What one flow record can honestly claim. A 64-bit counter can say 1.8·10^19 packets (a broken or hostile
 * exporter, or a byte-order bug), and above 2^53 a JavaScript number is no longer exact: such a record would read
 * as the largest flood ever seen and could open an incident. Bounds, generous for real links:
 * - 2^40 packets (1.1·10^12): a 400 Gbit/s link full of minimum-size packets for 30 minutes, the longest active
 *   timeout in use;
 * - 2^47 bytes (1.4·10^14): that link at line rate for 47 minutes;
 * - 65,535 bytes a packet on average: the largest IP packet (RFC 791, RFC 8200 without jumbograms).
 */
export const MAX_RECORD_PACKETS = 2 ** 40;
export const MAX_RECORD_BYTES = 2 ** 47;
export const MAX_PACKET_BYTES = 65_535;

/** Why a record's counters cannot be true, or undefined when they can. */
export function implausibleCounters(packets: number, bytes: number): string | undefined {
  if (packets > MAX_RECORD_PACKETS) return `${packets} packets (more than 2^40 in one record)`;
  if (bytes > MAX_RECORD_BYTES) return `${bytes} bytes (more than 2^47 in one record)`;
  if (packets > 0 && bytes > packets * MAX_PACKET_BYTES)
    return `${bytes} bytes in ${packets} packets (more than ${MAX_PACKET_BYTES} bytes a packet)`;
  return undefined;
}
