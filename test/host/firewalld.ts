// A real firewalld for one test namespace, never the host's: its own D-Bus (a private dbus-daemon on a socket in a
// temp dir, with the system-bus policy firewalld needs), its own copy of /etc/firewalld (--system-config), started
// inside the namespace with `ip netns exec`, so every nftables change it makes is confined to that namespace.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Daemon } from '../helpers/daemon.js';
import { run } from '../helpers/net.js';
import { waitFor } from '../helpers/wait.js';

export class PrivateFirewalld {
  private constructor(
    readonly dir: string,
    /** What goes in DBUS_SYSTEM_BUS_ADDRESS for firewall-cmd to reach this firewalld (and no other). */
    readonly busAddress: string,
    private readonly bus: Daemon,
    private readonly firewalld: Daemon,
    private readonly netns: string,
  ) {}

  static async start(netns: string): Promise<PrivateFirewalld> {
    const dir = mkdtempSync(join(tmpdir(), 'ft-firewalld-'));
    const socket = join(dir, 'system_bus_socket');
    const busAddress = `unix:path=${socket}`;
    // A system-type bus for this test alone: only root talks on it (this test and the firewalld it starts).
    writeFileSync(
      join(dir, 'bus.conf'),
      `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>${busAddress}</listen>
  <auth>EXTERNAL</auth>
  <policy user="root">
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
  <policy context="default">
    <deny own="*"/>
    <deny send_destination="*"/>
  </policy>
</busconfig>
`,
    );
    cpSync('/etc/firewalld', join(dir, 'etc'), { recursive: true });
    const bus = new Daemon(['dbus-daemon', `--config-file=${join(dir, 'bus.conf')}`, '--nofork', '--nopidfile']);
    let firewalld: Daemon | undefined;
    try {
      await waitFor(() => run(['test', '-S', socket], { allowFail: true }).status === 0 || !bus.running, {
        what: 'the private D-Bus socket',
      });
      if (!bus.running) throw new Error(`dbus-daemon exited: ${bus.output}`);
      firewalld = new Daemon(
        [
          'ip',
          'netns',
          'exec',
          netns,
          'firewalld',
          '--nofork',
          '--nopid',
          '--system-config',
          join(dir, 'etc'),
          '--log-target',
          'console',
        ],
        { env: { DBUS_SYSTEM_BUS_ADDRESS: busAddress } },
      );
      const fw = new PrivateFirewalld(dir, busAddress, bus, firewalld, netns);
      await waitFor(() => fw.cmd(['--state']).stdout.trim() === 'running' || !firewalld!.running, {
        timeoutMs: 60_000,
        what: 'firewalld in the namespace to answer "running"',
      });
      if (!firewalld.running) throw new Error(`firewalld exited: ${firewalld.output}`);
      return fw;
    } catch (err) {
      await firewalld?.stop();
      await bus.stop();
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** firewall-cmd inside the namespace, talking to this firewalld. */
  cmd(args: string[]) {
    return run(
      ['env', `DBUS_SYSTEM_BUS_ADDRESS=${this.busAddress}`, 'ip', 'netns', 'exec', this.netns, 'firewall-cmd', ...args],
      {
        allowFail: true,
      },
    );
  }

  get output(): string {
    return this.firewalld.output;
  }

  /** SIGTERM: firewalld removes its own nftables table on the way out (CleanupOnExit), then the bus goes. */
  async stop(): Promise<void> {
    await this.firewalld.stop(10_000);
    await this.bus.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
