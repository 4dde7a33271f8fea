// `ft doctor --policy FILE`: the checks that need the policy — it is valid against the installed plugins, every
// speaker answers its health check, and an RTR cache delivered a complete VRP set. One line per finding.
import { withTimeout } from '@ft/sdk';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Registry } from '../plugin-host/registry.js';
import type { ActionInstance } from '../policy/types.js';
import type { CheckResult, DoctorCheck, DoctorOptions } from './types.js';

const SPEAKER_TIMEOUT_MS = 5000;
const RTR_TIMEOUT_MS = 8000;

const silent = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  trace() {},
  fatal() {},
  child() {
    return silent;
  },
};

async function loadForDoctor(options: DoctorOptions) {
  const { loadPolicy, PolicyError, formatIssue } = await import('../policy/index.js');
  const registry = options.config
    ? await (await import('../plugin-host/load.js')).loadRegistry(options.config as never)
    : undefined;
  try {
    return { policy: await loadPolicy(options.policyPath as string, registry), registry };
  } catch (err) {
    if (err instanceof PolicyError) return { issues: err.issues.map(formatIssue), registry };
    return { issues: [(err as Error).message], registry };
  }
}

export const policyCheck: DoctorCheck = {
  group: 'policy',
  async run(options) {
    if (!options.policyPath)
      return [
        {
          id: 'policy.given',
          status: 'skip',
          summary: 'no --policy: speakers, RTR caches and the policy itself not checked',
        },
      ];
    const loaded = await loadForDoctor(options);
    if (!loaded.policy) {
      const issues = loaded.issues ?? [];
      return [
        {
          id: 'policy.valid',
          status: 'fail',
          summary: `${options.policyPath}: ${issues.length} problem(s): ${issues.slice(0, 3).join('; ')}${issues.length > 3 ? '; …' : ''}`,
          hint: `ft policy validate ${options.policyPath}`,
        },
      ];
    }
    const p = loaded.policy;
    const out: CheckResult[] = [
      {
        id: 'policy.valid',
        status: 'ok',
        summary: `${p.file}: valid (tenant ${p.tenant}, ${p.mode}, ${p.escalation.length} level(s), ${p.speakers.size} speaker(s))`,
      },
    ];
    for (const w of p.warnings) out.push({ id: 'policy.warning', status: 'warn', summary: w });
    return out;
  },
};

export const speakersCheck: DoctorCheck = {
  group: 'speaker',
  async run(options) {
    if (!options.policyPath || !options.config) return [];
    const { policy, registry } = await loadForDoctor(options);
    if (!policy || !registry) return [];
    const { createActionHandles, specsFromInstances } = await import('../run/actions.js');
    const out: CheckResult[] = [];
    const stateDir = await mkdtemp(join(tmpdir(), 'ft-doctor-'));
    const controller = new AbortController();
    try {
      for (const instance of policy.speakers.values()) {
        const id = `speaker.${instance.name}`;
        let handles;
        try {
          handles = await createActionHandles(registry, specsFromInstances([instance]), {
            stateDir,
            logger: silent,
            signal: controller.signal,
          });
        } catch (err) {
          out.push({
            id,
            status: 'fail',
            summary: `${instance.name} (${instance.adapter}): cannot be set up: ${(err as Error).message}`,
          });
          continue;
        }
        const handle = handles.get(instance.name);
        try {
          const h = await withTimeout(handle!.action.health(), SPEAKER_TIMEOUT_MS, `${instance.name} health`);
          out.push({
            id,
            status: h.status === 'ok' ? 'ok' : h.status === 'degraded' ? 'warn' : 'fail',
            summary: `${instance.name} (${instance.adapter}${instance.pop ? `, pop ${instance.pop}` : ''}): ${h.status}${h.detail ? `: ${h.detail}` : ''}`,
            ...(h.status === 'ok'
              ? {}
              : { hint: 'is the speaker daemon running and its API address in the policy right?' }),
          });
        } catch (err) {
          out.push({
            id,
            status: 'fail',
            summary: `${instance.name} (${instance.adapter}): ${(err as Error).message}`,
            hint: 'is the speaker daemon running and its API address in the policy right?',
          });
        } finally {
          await handle?.action.close?.().catch(() => undefined);
        }
        const shared = await sharedSpeaker(registry, instance, stateDir, controller.signal);
        if (shared) out.push(shared);
      }
    } finally {
      controller.abort();
      await rm(stateDir, { recursive: true, force: true });
    }
    return out;
  },
};

/**
 * Another ft (another tenant, or another install id) announcing through the same speaker: its routes carry ft's tag
 * under another owner. They are left alone, but the operator should know the speaker is shared, and that two installs
 * of one tenant must set different `installId`s. Found by listing once as this policy's owner and once as any owner.
 */
async function sharedSpeaker(
  registry: Registry,
  instance: ActionInstance,
  stateDir: string,
  signal: AbortSignal,
): Promise<CheckResult | undefined> {
  if (!instance.owner) return undefined;
  const { createActionHandles, specsFromInstances } = await import('../run/actions.js');
  const { owner: _owner, ...anyOwner } = instance;
  void _owner;
  const lists = async (inst: ActionInstance) => {
    const handles = await createActionHandles(registry, specsFromInstances([inst]), {
      stateDir,
      logger: silent,
      signal,
    });
    const action = handles.get(inst.name)?.action;
    try {
      return action ? await withTimeout(action.list(), SPEAKER_TIMEOUT_MS, `${inst.name} list`) : [];
    } finally {
      await action?.close?.().catch(() => undefined);
    }
  };
  try {
    const ours = new Set((await lists(instance)).map((r) => r.nativeId));
    const others = (await lists(anyOwner)).filter((r) => !ours.has(r.nativeId));
    if (others.length === 0) return undefined;
    return {
      id: `speaker.${instance.name}.shared`,
      status: 'warn',
      summary: `${instance.name} (${instance.adapter}) is shared: ${others.length} route(s) there carry another ft install's or tenant's tag (left alone by this one)`,
      hint: 'two installs with one tenant must set different installId values in their policies',
    };
  } catch {
    return undefined; // health above already says why the speaker cannot be listed
  }
}

export const rtrCheck: DoctorCheck = {
  group: 'rpki',
  async run(options) {
    if (!options.policyPath) return [];
    const { policy } = await loadForDoctor({ ...options, config: undefined });
    if (!policy) return [];
    if (policy.defaults.rpki === 'off')
      return [
        { id: 'rpki.synced', status: 'skip', summary: 'rpki: off in the policy: announcements are not RPKI-checked' },
      ];
    const rpki = await import('../rpki/index.js');
    let caches;
    try {
      caches = await rpki.cachesFromPolicyFile(options.policyPath);
    } catch (err) {
      return [
        {
          id: 'rpki.synced',
          status: policy.defaults.rpki === 'enforce' ? 'fail' : 'warn',
          summary: (err as Error).message,
          hint: `with rpki: ${policy.defaults.rpki} and no cache every announcement fails its check; add rpki.caches (e.g. a local stayrtr or routinator)`,
        },
      ];
    }
    const client = new rpki.RtrClient({ caches }).start();
    try {
      const snap = await client.ready(RTR_TIMEOUT_MS);
      return [
        {
          id: 'rpki.synced',
          status: 'ok',
          summary: `RTR cache ${snap.cache} synced: session ${snap.sessionId}, serial ${snap.serial}, ${snap.table.size} VRPs, data ${Math.round(snap.dataAgeSeconds)} s old`,
        },
      ];
    } catch (err) {
      return [
        {
          id: 'rpki.synced',
          status: policy.defaults.rpki === 'enforce' ? 'fail' : 'warn',
          summary: (err as Error).message,
          hint: 'is the RTR cache running, reachable from this host, and done with its first validation run?',
        },
      ];
    } finally {
      client.stop();
    }
  },
};
