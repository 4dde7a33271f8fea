import { mkdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HostExec } from '../common/exec.js';
import type { Family } from './engine.js';

/** One table as nft lists it: its chains (with their policy, for base chains) and how many rules each holds. */
interface NftTableView {
  chains: Map<string, { base: boolean; policy?: string; rules: number }>;
  /** Sets, maps, flowtables, objects: anything but chains and rules. */
  others: number;
}

/** What ft's own use made iptables-nft create in one table. */
interface Note {
  table: boolean;
  chains: string[];
}

/**
 * Kernel objects iptables-nft created because ft used them, and that nothing else needs afterwards. With the nft
 * backend a built-in table (ip raw for SYN cookies, ip6 filter for an IPv6 rule) and each of its base chains
 * (PREROUTING, INPUT, …) exist in the kernel only once something uses them, and iptables-nft never removes them:
 * after ft's last rule an empty `table ip raw { chain PREROUTING { … } }` would stay behind. ft notes what its install
 * brought into existence and, when its own objects in that table are gone and those are empty, deletes them, so the
 * kernel is left as ft found it. A table or chain that was there before ft is never deleted, nor one that holds
 * anything (a rule, a chain or set of anyone's, a DROP policy).
 *
 * The notes live under /run (default /run/ft/iptables/<netns or "host">): tmpfs, so they last exactly as long as the
 * kernel state they describe (a reboot clears both), and shared by every ft instance and process acting on the same
 * namespace, so a reconcile after a crash still knows. Nothing is noted with iptables-legacy (its tables always
 * exist) or where the `nft` tool is missing (ft cannot see nft's objects then; they stay, as before).
 */
export class CreatedTables {
  private backend: Promise<boolean> | undefined;

  constructor(
    private readonly exec: HostExec,
    private readonly root = '/run/ft/iptables',
  ) {}

  private dir(): string {
    return join(this.root, this.exec.netns ?? 'host');
  }

  private file(family: Family, table: string): string {
    return join(this.dir(), `${nftFamily(family)}-${table}.json`);
  }

  /** iptables-nft ("(nf_tables)" in its version line) with nft available to look at the kernel's objects. */
  private nftBackend(): Promise<boolean> {
    this.backend ??= (async () => {
      const v = await this.exec.run(['iptables', '-V'], { allowFail: true });
      if (!/nf_tables/.test(v.stdout)) return false;
      return (await this.exec.run(['nft', '--version'], { allowFail: true })).code === 0;
    })();
    return this.backend;
  }

  /** The tables as nft sees them now (undefined: the table does not exist), or undefined when nft is not in use. */
  async look(family: Family, tables: string[]): Promise<Map<string, NftTableView | undefined> | undefined> {
    if (tables.length === 0 || !(await this.nftBackend())) return undefined;
    const out = new Map<string, NftTableView | undefined>();
    for (const t of tables) out.set(t, await this.view(family, t));
    return out;
  }

  private async view(family: Family, table: string): Promise<NftTableView | undefined> {
    const r = await this.exec.run(['nft', '-j', 'list', 'table', nftFamily(family), table], { allowFail: true });
    if (r.code !== 0) return undefined;
    return parseNftTable(r.stdout);
  }

  /** After ft's batch went in: note what exists now that did not before (`before` from look()). */
  async noteCreated(family: Family, before: Map<string, NftTableView | undefined> | undefined): Promise<void> {
    if (!before) return;
    for (const [table, was] of before) {
      const now = await this.view(family, table);
      if (!now) continue;
      const baseChains = [...now.chains].filter(([name, c]) => c.base && !was?.chains.has(name)).map(([n]) => n);
      if (was && baseChains.length === 0) continue;
      const prior = await this.read(family, table);
      const note: Note = {
        table: (prior?.table ?? false) || !was,
        chains: [...new Set([...(prior?.chains ?? []), ...baseChains])],
      };
      await mkdir(this.dir(), { recursive: true, mode: 0o700 });
      await writeFile(this.file(family, table), JSON.stringify(note));
    }
  }

  private async read(family: Family, table: string): Promise<Note | undefined> {
    try {
      return JSON.parse(await readFile(this.file(family, table), 'utf8')) as Note;
    } catch {
      return undefined;
    }
  }

  /**
   * After ft removed its objects from `touched`: the base chains ft's use created that are now empty and accepting
   * go, and the table too when ft created it and nothing at all is left in it. One nft transaction, right after
   * looking; what is still needed stays noted for a later withdraw.
   */
  async dropUnused(family: Family, touched: Iterable<string>): Promise<void> {
    if (!(await this.nftBackend())) return;
    let dropped = false;
    for (const table of touched) {
      const note = await this.read(family, table);
      if (!note) continue;
      const view = await this.view(family, table);
      if (!view) {
        await rm(this.file(family, table), { force: true });
        dropped = true;
        continue;
      }
      const unused = note.chains.filter((name) => {
        const c = view.chains.get(name);
        return c !== undefined && c.rules === 0 && c.policy === 'accept';
      });
      const left = [...view.chains.keys()].filter((n) => !unused.includes(n));
      const dropTable = note.table && left.length === 0 && view.others === 0;
      const fam = nftFamily(family);
      const script = dropTable
        ? `delete table ${fam} ${table}\n`
        : unused.map((c) => `delete chain ${fam} ${table} ${c}\n`).join('');
      if (script !== '' && (await this.exec.run(['nft', '-f', '-'], { input: script, allowFail: true })).code !== 0)
        continue;
      const keep: Note = { table: note.table && !dropTable, chains: note.chains.filter((c) => !unused.includes(c)) };
      if (dropTable || (!keep.table && keep.chains.length === 0)) {
        await rm(this.file(family, table), { force: true });
        dropped = true;
      } else await writeFile(this.file(family, table), JSON.stringify(keep));
    }
    // The namespace's directory goes with its last note (one still holding a note stays).
    if (dropped) await rmdir(this.dir()).catch(() => undefined);
  }
}

const nftFamily = (family: Family) => (family === 4 ? 'ip' : 'ip6');

/** `nft -j list table F T` → chains (base or not, policy, rule count) and the count of anything else. */
export function parseNftTable(json: string): NftTableView {
  const view: NftTableView = { chains: new Map(), others: 0 };
  const items = (JSON.parse(json) as { nftables?: Record<string, Record<string, unknown>>[] }).nftables ?? [];
  for (const item of items) {
    if (item.chain) {
      const c = item.chain;
      view.chains.set(String(c.name), {
        base: typeof c.hook === 'string',
        ...(typeof c.policy === 'string' ? { policy: c.policy } : {}),
        rules: view.chains.get(String(c.name))?.rules ?? 0,
      });
    } else if (item.rule) {
      const name = String(item.rule.chain);
      const c = view.chains.get(name) ?? { base: false, rules: 0 };
      c.rules++;
      view.chains.set(name, c);
    } else if (!item.metainfo && !item.table) view.others++;
  }
  return view;
}
