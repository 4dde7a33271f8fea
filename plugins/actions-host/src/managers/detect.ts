import type { HostExec } from '../common/exec.js';

export type ManagerName = 'ufw' | 'firewalld' | 'csf';
export type ManagerState = 'active' | 'inactive' | 'absent';

export interface ManagerReport {
  name: ManagerName;
  state: ManagerState;
  detail: string;
}

/**
 * Which host firewall manager is in charge, asked the way each documents it:
 * ufw: `ufw status` prints "Status: active"; firewalld: `firewall-cmd --state` prints "running";
 * CSF: `csf -v` answers, and its LOCALINPUT chain is in iptables when it is running.
 */
export async function detectManagers(exec: HostExec): Promise<ManagerReport[]> {
  const out: ManagerReport[] = [];
  const ufw = await exec.run(['ufw', 'status'], { allowFail: true });
  if (ufw.code === null) out.push({ name: 'ufw', state: 'absent', detail: 'ufw is not installed' });
  else if (/Status: active/.test(ufw.stdout)) out.push({ name: 'ufw', state: 'active', detail: 'ufw is active' });
  else
    out.push({
      name: 'ufw',
      state: 'inactive',
      detail: `ufw is installed but not active${ufw.code !== 0 ? ` (${ufw.stderr.trim()})` : ''}`,
    });

  const fw = await exec.run(['firewall-cmd', '--state'], { allowFail: true });
  if (fw.code === null) out.push({ name: 'firewalld', state: 'absent', detail: 'firewall-cmd is not installed' });
  else if (fw.code === 0 && /running/.test(fw.stdout))
    out.push({ name: 'firewalld', state: 'active', detail: 'firewalld is running' });
  else
    out.push({
      name: 'firewalld',
      state: 'inactive',
      // firewall-cmd says "not running", or (no system bus at all) why it could not ask.
      detail: `firewalld is installed but not running${/^not running$/.test((fw.stdout || fw.stderr).trim()) ? '' : ` (${(fw.stdout || fw.stderr).trim().split('\n')[0]})`}`,
    });

  const csf = await exec.run(['csf', '-v'], { allowFail: true });
  if (csf.code === null) out.push({ name: 'csf', state: 'absent', detail: 'csf is not installed' });
  else {
    const chain = await exec.run(['iptables', '-S', 'LOCALINPUT'], { allowFail: true });
    out.push(
      chain.code === 0
        ? { name: 'csf', state: 'active', detail: 'csf is running (LOCALINPUT chain present)' }
        : { name: 'csf', state: 'inactive', detail: 'csf is installed but its chains are not loaded' },
    );
  }
  return out;
}

/** The one manager that runs the host's firewall, when exactly one does. */
export function managerInCharge(reports: ManagerReport[]): ManagerName | undefined {
  const active = reports.filter((r) => r.state === 'active');
  return active.length === 1 ? active[0]?.name : undefined;
}
