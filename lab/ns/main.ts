// Entry point of `ft lab up|down|status|scenario NAME` (core/commands/lab/* run this with tsx from a checkout).
// Prints one JSON object on stdout; progress goes to stderr. Exit 1 when a scenario's expected outcome fails.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { makeRule, Prefix, type FlowSpecRule, type PluginContext } from '@ft/sdk';
import { GobgpAction, gobgpConfigSchema } from '@ft/bgp-gobgp';
import {
  edgeFlowspecRules,
  flood,
  httpGet,
  labDown,
  labUp,
  nodeName,
  victimCounter,
  VICTIM,
  VICTIM_WEB2,
} from './lab.js';
import { Node } from './topology.js';
import { runScenario, SCENARIOS } from './scenarios/index.js';

// FT_LAB_PREFIX lets tests run a lab of their own beside a user's.
const PREFIX = process.env.FT_LAB_PREFIX ?? 'ftlab';
if (!/^[a-z][a-z0-9]{1,11}$/.test(PREFIX))
  throw new Error(`FT_LAB_PREFIX ${JSON.stringify(PREFIX)} must be 2-12 lowercase letters/digits`);
const DIR = process.env.FT_LAB_DIR ?? '/tmp/ft-lab';
const ROLES = ['ctl', 'edge-linux', 'attacker', 'victim'];

const say = (msg: string) => process.stderr.write(`${msg}\n`);
const silent = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silent;
  },
};

async function up(): Promise<Record<string, unknown>> {
  const removed = labDown(PREFIX, DIR);
  if (removed.length) say(`removed a previous lab: ${removed.join(', ')}`);
  const lab = await labUp({ prefix: PREFIX, dir: DIR, detached: true, enforcerCommand: true });
  say(`lab up: ${ROLES.map((r) => nodeName(PREFIX, r)).join(', ')}`);
  return {
    up: true,
    dir: DIR,
    namespaces: ROLES.map((r) => nodeName(PREFIX, r)),
    ctlApi: lab.ctlGobgp.api,
    edgeApi: lab.edgeGobgp.api,
    victim: [VICTIM, VICTIM_WEB2],
  };
}

function status(): Record<string, unknown> {
  const present = ROLES.filter((r) => new Node(nodeName(PREFIX, r)).exists);
  return {
    up: present.length === ROLES.length,
    namespaces: present.map((r) => nodeName(PREFIX, r)),
    dir: DIR,
    ctlApi: `unix://${join(DIR, 'ctl', 'api.sock')}`,
  };
}

interface Step {
  step: string;
  ok: boolean;
  detail?: string;
}

async function until(check: () => boolean | Promise<boolean>, ms: number): Promise<number | undefined> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (await check()) return Date.now() - t0;
    await new Promise((r) => setTimeout(r, 20));
  }
  return undefined;
}

/**
 * UDP amplification at 203.0.113.10 from source port 53: FlowSpec discard announced through ctl's gobgpd →
 * dropped at edge-linux within 2 s, HTTP to .11 and .10 unaffected, the rule withdrawn when its TTL ends.
 */
async function udpAmplification(ttlSeconds: number): Promise<{ ok: boolean; steps: Step[] }> {
  if (!status().up || !existsSync(join(DIR, 'ctl', 'api.sock')))
    throw new Error('the lab is not up: run `ft lab up` first');
  const lab = {
    attacker: new Node(nodeName(PREFIX, 'attacker')),
    victim: new Node(nodeName(PREFIX, 'victim')),
    edge: new Node(nodeName(PREFIX, 'edge-linux')),
  };
  const ctx = {
    name: 'lab',
    logger: silent,
    secret: () => {
      throw new Error('no secrets');
    },
  } as unknown as PluginContext;
  const action = new GobgpAction(
    gobgpConfigSchema.parse({ address: `unix://${join(DIR, 'ctl', 'api.sock')}`, tagAsn: 64500 }),
    ctx,
  );
  const steps: Step[] = [];
  const record = (step: string, ok: boolean, detail?: string) => {
    steps.push({ step, ok, ...(detail ? { detail } : {}) });
    say(`${ok ? 'ok  ' : 'FAIL'} ${step}${detail ? ` (${detail})` : ''}`);
  };
  try {
    const session = await until(async () => (await action.health()).status === 'ok', 30_000);
    record('ctl ↔ edge-linux BGP session established', session !== undefined);
    const counter = victimCounter(lab, 53);
    counter.install();
    flood(lab, { srcPort: 53, count: 300 });
    const unmitigated = counter.read();
    record('flood reaches the victim before mitigation', unmitigated >= 280, `${unmitigated}/300 packets`);
    const rule = makeRule<FlowSpecRule>({
      kind: 'flowspec',
      tenant: 'lab',
      target: Prefix.parse(`${VICTIM}/32`),
      level: 2,
      ttlSeconds,
      match: { destination: Prefix.parse(`${VICTIM}/32`), protocols: [17], sourcePorts: [{ min: 53, max: 53 }] },
      action: { type: 'discard' },
    });
    const t0 = Date.now();
    await action.apply(rule);
    const enforced = await until(() => (edgeFlowspecRules(lab) ?? []).some((r) => r.comment === `ft ${rule.id}`), 5000);
    record(
      'FlowSpec discard enforced at edge-linux within 2 s',
      enforced !== undefined && Date.now() - t0 <= 2000,
      `${Date.now() - t0} ms`,
    );
    const before = counter.read();
    flood(lab, { srcPort: 53, count: 300 });
    record(
      'flood dropped at the edge',
      counter.read() - before === 0,
      `${counter.read() - before} packets got through`,
    );
    record(`HTTP to ${VICTIM} still answers`, httpGet(lab, VICTIM));
    record(`HTTP to ${VICTIM_WEB2} still answers`, httpGet(lab, VICTIM_WEB2));
    // The executor withdraws a rule when its TTL ends; the scenario plays that part.
    await new Promise((r) => setTimeout(r, ttlSeconds * 1000));
    await action.withdraw(rule);
    const gone = await until(() => (edgeFlowspecRules(lab) ?? []).length === 0, 5000);
    record(`rule withdrawn after its ${ttlSeconds} s TTL`, gone !== undefined);
    const after = counter.read();
    flood(lab, { srcPort: 53, count: 300 });
    record('traffic passes again', counter.read() - after >= 280, `${counter.read() - after}/300 packets`);
  } finally {
    await action.close();
  }
  return { ok: steps.every((s) => s.ok), steps };
}

async function main(): Promise<number> {
  const [verb, name] = process.argv.slice(2);
  let result: Record<string, unknown>;
  switch (verb) {
    case 'up':
      result = await up();
      break;
    case 'down':
      result = { removed: labDown(PREFIX, DIR) };
      break;
    case 'status':
      result = status();
      break;
    case 'scenario': {
      if (name === 'flowspec-path') {
        // The announcement → enforcer path alone, with the scenario standing in for ft's detection and executor.
        const outcome = await udpAmplification(Number(process.env.FT_LAB_TTL ?? 3));
        result = { scenario: name, ...outcome };
        break;
      }
      if (!name || !(SCENARIOS as readonly string[]).includes(name))
        throw new Error(
          `unknown scenario ${JSON.stringify(name)}; known: ${[...SCENARIOS, 'flowspec-path'].join(', ')}`,
        );
      result = { ...(await runScenario(name as (typeof SCENARIOS)[number], { prefix: PREFIX, dir: DIR })) };
      break;
    }
    default:
      throw new Error('usage: lab/ns/main.ts up|down|status|scenario NAME');
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
  return result.ok === false ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`error: ${(err as Error).message}\n`);
    process.exit(2);
  },
);
