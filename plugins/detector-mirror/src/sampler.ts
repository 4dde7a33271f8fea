import type { MirrorConfig } from './config.js';

/**
 * pmacctd's configuration for the mirror port: its sfprobe plugin turns 1 in `sampling` packets into sFlow v5 flow
 * samples (the packet's first `snaplen` bytes) sent to ft's collector on loopback. Pure: the text is what is
 * written to the file pmacctd reads (pmacctd takes sfprobe settings from a file only).
 */
export function pmacctdConfig(c: MirrorConfig, receiverPort: number): string {
  return [
    '! written by ft (mirror detector); ft owns this file and starts pmacctd with it',
    'daemonize: false',
    `pcap_interface: ${c.interface}`,
    'promisc: true',
    `snaplen: ${c.snaplen}`,
    'plugins: sfprobe',
    `sfprobe_receiver: 127.0.0.1:${receiverPort}`,
    'sfprobe_agentip: 127.0.0.1',
    `sampling_rate: ${c.sampling}`,
    // Small transfer buffers between pmacctd's core and its plugin: samples leave within a second.
    'plugin_buffer_size: 2048',
    'plugin_pipe_size: 2048000',
    '',
  ].join('\n');
}
