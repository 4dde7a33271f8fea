import type { InstalledRef, RuleCounters, RuleId } from '@ft/sdk';
import type { HostExec } from '../common/exec.js';
import { serialize } from '../common/lock.js';
import { parseSave, type SavedTable } from './save.js';
import { hookChainOf, installBatch, PASSED_COMMENT, ruleChainOf, type TableLines } from './render.js';
import { CreatedTables } from './tables.js';

export type Family = 4 | 6;
const TABLES = ['filter', 'raw'] as const;

export const restoreArgv = (family: Family) => [
  family === 4 ? 'iptables-restore' : 'ip6tables-restore',
  '-w',
  '5',
  '--noflush',
];
const saveArgv = (family: Family) => [family === 4 ? 'iptables-save' : 'ip6tables-save', '-c'];

/**
 * ft's objects in one family's iptables: a hook chain per built-in chain (FT-INPUT, FT-FORWARD, FT-PREROUTING in
 * raw) and one chain per rule named <prefix>-<rule id>. Everything is read back from iptables-save and removed
 * line by line as saved, so nothing ft did not create is ever matched.
 */
export class IptablesEngine {
  private readonly chainRe: RegExp;
  private readonly created: CreatedTables;

  constructor(
    readonly exec: HostExec,
    readonly chainPrefix: string,
    readonly builtin: string,
  ) {
    this.chainRe = new RegExp(`^${chainPrefix}-((?:hf|sh)-[0-9a-f]{16})$`);
    this.created = new CreatedTables(exec);
  }

  async snapshot(family: Family): Promise<Map<string, SavedTable>> {
    const r = await this.exec.run(saveArgv(family));
    return parseSave(r.stdout);
  }

  /** Rule ids with a chain in any table, and whether every expected table has it jumped from its hook. */
  state(snap: Map<string, SavedTable>): Map<RuleId, { tables: Set<string>; jumped: Set<string>; mine: boolean }> {
    const out = new Map<RuleId, { tables: Set<string>; jumped: Set<string>; mine: boolean }>();
    for (const table of TABLES) {
      const t = snap.get(table);
      if (!t) continue;
      for (const chain of t.chains) {
        const m = this.chainRe.exec(chain);
        if (!m) continue;
        const id = m[1] as RuleId;
        const entry = out.get(id) ?? { tables: new Set(), jumped: new Set(), mine: false };
        entry.tables.add(table);
        const jumps = t.rules.filter((r) => r.target === chain);
        if (jumps.length) entry.jumped.add(table);
        // Ours when jumped from this instance's hook chain, or jumped from nowhere (an orphan anyone may clean).
        if (table === 'filter' && (jumps.length === 0 || jumps.some((r) => r.chain === hookChainOf(this.builtin))))
          entry.mine = true;
        out.set(id, entry);
      }
    }
    for (const e of out.values()) if (!e.tables.has('filter')) e.mine = true;
    return out;
  }

  isInstalled(snap: Map<string, SavedTable>, id: RuleId, tables: TableLines[]): 'yes' | 'no' | 'partial' {
    const e = this.state(snap).get(id);
    if (!e) return 'no';
    const complete =
      tables.every((t) => e.tables.has(t.table) && e.jumped.has(t.table)) && e.tables.size === tables.length;
    return complete ? 'yes' : 'partial';
  }

  /** Every iptables change of this namespace and family, across instances, one after another. */
  private lockKey(family: Family): string {
    return `iptables:${this.exec.netns ?? ''}:${family}`;
  }

  install(family: Family, id: RuleId, tables: TableLines[]): Promise<'installed' | 'present'> {
    return serialize(this.lockKey(family), () => this.installNow(family, id, tables));
  }

  private async installNow(family: Family, id: RuleId, tables: TableLines[]): Promise<'installed' | 'present'> {
    let snap = await this.snapshot(family);
    const state = this.isInstalled(snap, id, tables);
    if (state === 'yes') return 'present';
    if (state === 'partial') {
      await this.removeNow(family, id, snap);
      snap = await this.snapshot(family);
    }
    const batch = installBatch(
      this.chainPrefix,
      id,
      tables,
      (table, hook) => snap.get(table)?.chains.has(hook) ?? false,
    );
    const before = await this.created.look(family, [...new Set(tables.map((t) => t.table))]);
    await this.exec.run(restoreArgv(family), { input: batch });
    // Bookkeeping only: the rule is in, whatever happens to the note (a read-only /run leaves the table, as before).
    await this.created.noteCreated(family, before).catch(() => undefined);
    return 'installed';
  }

  /** Builds and runs the batch that deletes one rule's chains and jumps, and the hook chains left empty. */
  remove(family: Family, id: RuleId): Promise<boolean> {
    return serialize(this.lockKey(family), () => this.removeNow(family, id));
  }

  private async removeNow(family: Family, id: RuleId, snap?: Map<string, SavedTable>): Promise<boolean> {
    const s = snap ?? (await this.snapshot(family));
    const chain = ruleChainOf(this.chainPrefix, id);
    const batch = removeBatch(s, chain);
    if (!batch) return false;
    await this.exec.run(restoreArgv(family), { input: batch });
    // What ft's own install made iptables-nft create (a table, a base chain) goes too once nothing uses it.
    await this.created
      .dropUnused(
        family,
        [...s].filter(([, t]) => t.chains.has(chain)).map(([name]) => name),
      )
      .catch(() => undefined);
    return true;
  }

  async list(family: Family): Promise<InstalledRef[]> {
    const snap = await this.snapshot(family);
    const refs: InstalledRef[] = [];
    for (const [id, e] of this.state(snap)) {
      if (!e.mine) continue;
      refs.push({
        ruleId: id,
        nativeId: `ipv${family} ${ruleChainOf(this.chainPrefix, id)}`,
        description: `${family === 4 ? 'iptables' : 'ip6tables'} chain ${ruleChainOf(this.chainPrefix, id)} in ${[...e.tables].join('+')}`,
      });
    }
    return refs;
  }

  /** Packets/bytes the rule acted on: its DROP/REJECT/SYNPROXY lines in the filter table. */
  async counters(family: Family): Promise<RuleCounters[]> {
    const snap = await this.snapshot(family);
    const filter = snap.get('filter');
    const out: RuleCounters[] = [];
    for (const [id, e] of this.state(snap)) {
      if (!e.mine || !filter) continue;
      const chain = ruleChainOf(this.chainPrefix, id);
      let packets = 0;
      let bytes = 0;
      let passed: number | undefined;
      for (const r of filter.rules) {
        if (r.chain !== chain) continue;
        if (r.target === undefined && r.spec.includes(`--comment ${PASSED_COMMENT}`))
          passed = (passed ?? 0) + r.packets;
        else if (['DROP', 'REJECT', 'SYNPROXY'].includes(r.target ?? '')) {
          packets += r.packets;
          bytes += r.bytes;
        }
      }
      out.push({ ruleId: id, packets, bytes, ...(passed !== undefined ? { passed } : {}) });
    }
    return out;
  }
}

/** The iptables-restore --noflush text removing `chain` everywhere it exists, or undefined when it does not. */
export function removeBatch(snap: Map<string, SavedTable>, chain: string): string | undefined {
  const out: string[] = [];
  for (const [table, t] of snap) {
    if (!t.chains.has(chain)) continue;
    out.push(`*${table}`);
    const jumps = t.rules.filter((r) => r.target === chain);
    for (const j of jumps) out.push(`-D${j.spec.slice(2)}`);
    out.push(`-F ${chain}`, `-X ${chain}`);
    // A hook chain left with nothing in it goes too, with its jump from the built-in chain: after the last
    // withdraw the ruleset is exactly what it was before ft arrived.
    const hooks = new Set(jumps.map((j) => j.chain).filter((c) => /^FT-[A-Z]+$/.test(c)));
    for (const hook of hooks) {
      const left = t.rules.filter((r) => r.chain === hook && r.target !== chain);
      if (left.length > 0) continue;
      for (const r of t.rules.filter((x) => x.target === hook)) out.push(`-D${r.spec.slice(2)}`);
      out.push(`-X ${hook}`);
    }
    out.push('COMMIT');
  }
  return out.length ? `${out.join('\n')}\n` : undefined;
}
