import { execFile } from 'node:child_process';
import { chmod, mkdir, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  iocMatchFromReport,
  packetEvidenceToReport,
  Prefix,
  type Incident,
  type IncidentEvidence,
  type PacketEvidence,
  type PluginLogger,
} from '@ft/sdk';
import { analyzeCaptures, captureComment, decodeCapture, type Analysis } from '../analyze/analyze.js';
import { HopTable } from '../analyze/spoofing.js';
import type { IocMatcher } from '../ioc/matcher.js';
import type { Packet } from '../format/packet.js';
import { readFrames } from '../format/read.js';
import { commentArgv, incidentArgv, incidentFilter, mergeArgv, selectArgv } from './argv.js';
import { Ring } from './ring.js';
import { CaptureStore, prepareCaptureDir, sha256File, type CaptureRecord, type CaptureSummary } from './store.js';
import { reapStale, SupervisedChild } from './supervise.js';

const run = promisify(execFile);

export interface CaptureSettings {
  interfaces: string[];
  /** Named network namespace the interfaces live in. */
  netns?: string;
  dir: string;
  snaplen: number;
  bufferMiB: number;
  ring: { packets: number; seconds: number; files: number; filter?: string };
  incident: { packets: number; bytes: number; seconds: number };
  quotaBytes: number;
  retentionMs: number;
  /** How often an open incident's capture is re-analysed while it grows. */
  analyzeEveryMs: number;
  /** How often the ring is read for peacetime hop counts while no incident is open. */
  learnEveryMs: number;
  /**
   * What the ring shows counts only after this much quiet: an attack is under way before it crosses the
   * threshold, and what an incident's opening finds not yet counted is dropped (its onset is not peacetime).
   */
  learnDelayMs: number;
}

type Seen = Pick<Packet, 'family' | 'src' | 'src4' | 'ttl'>;

interface Attack {
  iface: string;
  file: string;
  /** Absent for captures recovered after a restart (their dumpcap died with the previous ft). */
  child?: SupervisedChild;
}

interface Active {
  id: string;
  incident: Incident;
  target: Prefix;
  attackStart: number;
  startedAt: number;
  filter: string;
  work: string;
  snapshot: string[];
  attacks: Attack[];
  reservation: number;
  table: HopTable;
  report: (evidence: IncidentEvidence) => void;
  timer?: NodeJS.Timeout;
  analysing: boolean;
  lastKey?: string;
  finishing?: Promise<void>;
}

export interface CaptureStatus {
  rings: { iface: string; running: boolean; pid?: number; problem?: string }[];
  active: string[];
  learnt: { addresses: number; prefixes: number; packets: number };
  finished: number;
  failed: number;
  skipped: number;
  lastProblem?: string;
}

/** Lists capped in the incident (the capture's record has everything). */
const LISTED = 20;

export function toPacketEvidence(a: Analysis): PacketEvidence {
  const s = a.spoofing;
  const listed = (v: 'spoofed' | 'real') =>
    s.sources
      .filter((j) => j.verdict === v)
      .slice(0, LISTED)
      .map((j) => Prefix.parse(j.ip));
  return {
    packets: a.attack.packets,
    spoofing: s.verdict,
    spoofedShare: s.spoofedShare,
    spoofedSources: listed('spoofed'),
    realSources: listed('real'),
    evidence: s.evidence,
    signatures: a.signatures.map((h) => ({
      id: h.id,
      kind: h.kind,
      packets: h.packets,
      share: h.share,
      ...(h.vector ? { vector: h.vector } : {}),
    })),
  };
}

function summaryOf(a: Analysis): CaptureSummary {
  return {
    spoofing_detected: a.spoofing_detected,
    botnet_detected: a.botnet_detected,
    packet_evidence: packetEvidenceToReport(toPacketEvidence(a)),
    ioc_matches: a.ioc_matches,
    protocol_breakdown: a.protocol_breakdown,
    top_src_ips: a.top_src_ips.map((s) => ({ ip: s.ip, packets: s.packets })),
    top_dst_ports: a.top_dst_ports.map((p) => ({ port: p.port, packets: p.packets })),
  };
}

/**
 * Per-interface rings, one dedicated capture per open incident, and the merge at resolve. All files stay in one
 * 0700 directory within the quota; the children are supervised (see supervise.ts).
 */
export class CaptureManager {
  readonly store: CaptureStore;
  private readonly rings: Ring[] = [];
  private readonly active = new Map<string, Active>();
  private readonly learner = new HopTable();
  /** Read from the rings, not counted yet (see learnDelayMs). */
  private pendingLearn: { at: number; seen: Seen[] }[] = [];
  private learnTimer: NodeJS.Timeout | undefined;
  private counts = { finished: 0, failed: 0, skipped: 0 };
  private lastProblem: string | undefined;
  private stopping = false;

  constructor(
    readonly settings: CaptureSettings,
    private readonly o: { logger?: PluginLogger; matcher?: IocMatcher },
  ) {
    this.store = new CaptureStore(settings.dir, {
      quotaBytes: settings.quotaBytes,
      retentionMs: settings.retentionMs,
    });
  }

  /** Largest ring file: every packet at the snap length plus pcapng's per-packet block overhead. */
  private get ringFileBytes(): number {
    return this.settings.ring.packets * (this.settings.snaplen + 48) + 4096;
  }

  /** What the rings may take: every file kept plus the one dumpcap opens before it deletes the oldest. */
  get ringReservation(): number {
    return this.settings.interfaces.length * (this.settings.ring.files + 1) * this.ringFileBytes;
  }

  /**
   * What one incident may take at its largest: the ring snapshot and the attack captures of every interface, twice
   * (the merge writes a new file before the inputs are deleted), and its record.
   */
  get incidentReservation(): number {
    const n = this.settings.interfaces.length;
    const attack = this.settings.incident.bytes + this.settings.snaplen + 1024;
    return 2 * n * (attack + (this.settings.ring.files + 1) * this.ringFileBytes) + 65_536;
  }

  async start(): Promise<void> {
    await prepareCaptureDir(this.settings.dir);
    const needed = this.ringReservation + this.incidentReservation;
    if (needed > this.settings.quotaBytes)
      throw new Error(
        `pcap quota of ${this.settings.quotaBytes} bytes cannot hold the rings and one incident capture (${needed} bytes): raise quota or lower incident.bytes / ring.packets / snaplen`,
      );
    const killed = await reapStale(this.store.pidDir);
    if (killed.length > 0) this.o.logger?.warn({ pids: killed }, 'killed capture processes a previous ft left running');
    await this.recoverWork();
    await this.store.makeRoom(0, this.ringReservation);
    for (const iface of this.settings.interfaces) {
      await rm(join(this.store.ringDir, iface), { recursive: true, force: true });
      const ring = new Ring(
        {
          iface,
          snaplen: this.settings.snaplen,
          dir: join(this.store.ringDir, iface),
          packets: this.settings.ring.packets,
          seconds: this.settings.ring.seconds,
          files: this.settings.ring.files,
          bufferMiB: this.settings.bufferMiB,
          ...(this.settings.ring.filter ? { filter: this.settings.ring.filter } : {}),
        },
        {
          pidDir: this.store.pidDir,
          ...(this.settings.netns ? { netns: this.settings.netns } : {}),
          ...(this.o.logger ? { logger: this.o.logger } : {}),
        },
      );
      await ring.start();
      this.rings.push(ring);
    }
    this.learnTimer = setInterval(() => void this.learn(), this.settings.learnEveryMs);
  }

  /** Peacetime: hop counts of whatever reaches the interfaces, from the ring's closed files. */
  private async learn(now = Date.now()): Promise<void> {
    if (this.active.size > 0 || this.stopping) return;
    for (const r of this.rings) {
      const packets = await r.readClosed();
      if (packets && packets.length > 0 && this.active.size === 0)
        this.pendingLearn.push({
          at: now,
          seen: packets.map((p) => ({
            family: p.family,
            src: p.src,
            ...(p.src4 !== undefined ? { src4: p.src4 } : {}),
            ttl: p.ttl,
          })),
        });
    }
    while (this.pendingLearn.length > 0 && now - this.pendingLearn[0]!.at >= this.settings.learnDelayMs) {
      for (const p of this.pendingLearn.shift()!.seen) this.learner.learn(p);
    }
  }

  /** Reads the rings for hop counts now (tests wait on status().learnt rather than on the timer). */
  learnNow(): Promise<void> {
    return this.learn();
  }

  status(): CaptureStatus {
    return {
      rings: this.rings.map((r) => ({
        iface: r.iface,
        running: r.running,
        ...(r.pid !== undefined ? { pid: r.pid } : {}),
        ...(r.problem ? { problem: r.problem } : {}),
      })),
      active: [...this.active.keys()],
      learnt: {
        addresses: this.learner.addresses.size,
        prefixes: this.learner.prefixes.size,
        packets: this.learner.packets,
      },
      ...this.counts,
      ...(this.lastProblem ? { lastProblem: this.lastProblem } : {}),
    };
  }

  /** Pids of every capture child running now (rings and incident captures). */
  pids(): number[] {
    const out: number[] = [];
    for (const r of this.rings) if (r.pid !== undefined) out.push(r.pid);
    for (const a of this.active.values())
      for (const c of a.attacks) if (c.child?.running && c.child.pid !== undefined) out.push(c.child.pid);
    return out;
  }

  observe(type: 'open' | 'update' | 'resolve', incident: Incident, report: (e: IncidentEvidence) => void): void {
    if (this.stopping) return;
    const id = incident.id;
    const a = this.active.get(id);
    if (type === 'resolve') {
      if (a) void this.finish(a, 'incident resolved');
      // Resolved while its capture was still being set up: finished as soon as it is.
      else if (this.opening.has(id)) this.resolvedEarly.add(id);
      return;
    }
    if (a) {
      a.incident = incident;
      return;
    }
    if (type === 'open' && !this.opening.has(id)) {
      this.opening.add(id);
      void this.open(incident, report)
        .catch((err: Error) => this.problem(id, err.message))
        .finally(() => {
          this.opening.delete(id);
          const started = this.active.get(id);
          if (this.resolvedEarly.delete(id) && started) void this.finish(started, 'incident resolved');
        });
    }
  }

  private readonly opening = new Set<string>();
  private readonly resolvedEarly = new Set<string>();

  private problem(id: string, message: string): void {
    this.lastProblem = `${id}: ${message}`;
    this.o.logger?.error({ incidentId: id }, `pcap: ${message}`);
  }

  private reserved(): number {
    let n = this.ringReservation;
    for (const a of this.active.values()) n += a.reservation;
    return n;
  }

  private async open(incident: Incident, report: (e: IncidentEvidence) => void): Promise<void> {
    const id = incident.id;
    const target = Prefix.parse(String(incident.target));
    const attackStart = incident.startedAt;
    const filter = incidentFilter({ ...incident, target });
    const record: CaptureRecord = {
      id,
      target: target.toString(),
      interfaces: [...this.settings.interfaces],
      filter,
      state: 'capturing',
      started_at: new Date().toISOString(),
      attack_start: new Date(Number.isFinite(attackStart) ? attackStart : Date.now()).toISOString(),
    };
    const room = await this.store.makeRoom(this.incidentReservation, this.reserved());
    if (!room.fits) {
      this.counts.skipped++;
      await this.store.write({
        ...record,
        state: 'skipped',
        reason: `no room in the pcap quota (${this.settings.quotaBytes} bytes) while ${this.active.size} other capture(s) run`,
      });
      this.problem(id, 'capture skipped: the quota is held by captures in progress');
      return;
    }
    if (room.removed.length > 0)
      this.o.logger?.info({ removed: room.removed }, 'pcap: oldest captures removed to stay within the quota');
    // What the rings showed lately may be this attack's onset: never learnt.
    this.pendingLearn = [];
    const work = join(this.store.workDir, id);
    await mkdir(work, { recursive: true, mode: 0o700 });
    const a: Active = {
      id,
      incident,
      target,
      attackStart: Date.parse(record.attack_start),
      startedAt: Date.now(),
      filter,
      work,
      snapshot: [],
      attacks: [],
      reservation: this.incidentReservation,
      table: this.learner.clone(),
      report,
      analysing: false,
    };
    this.active.set(id, a);
    await this.store.write(record);
    // The ring first: at flood rates its files rotate within milliseconds.
    for (const r of this.rings) a.snapshot.push(...(await r.snapshot(work, r.iface)));
    const comment = captureComment(id, target.toString(), a.attackStart);
    for (const iface of this.settings.interfaces) {
      const file = join(work, `attack-${iface}.pcapng`);
      const child = await SupervisedChild.start(
        incidentArgv({
          iface,
          snaplen: this.settings.snaplen,
          file,
          filter,
          packets: this.settings.incident.packets,
          bytes: this.settings.incident.bytes,
          seconds: this.settings.incident.seconds,
          comment,
          bufferMiB: this.settings.bufferMiB,
        }),
        { pidDir: this.store.pidDir, ...(this.settings.netns ? { netns: this.settings.netns } : {}) },
      );
      a.attacks.push({ iface, file, child });
    }
    report({ pcap: { id, file: this.store.capturePath(id) }, iocMatches: [] });
    a.timer = setInterval(() => void this.analyse(a), this.settings.analyzeEveryMs);
    this.o.logger?.info(
      { incidentId: id, filter, interfaces: this.settings.interfaces },
      'pcap: incident capture started',
    );
  }

  /** Reads what the incident's captures hold so far and reports the verdicts when they changed. */
  private async analyse(a: Active, final = false): Promise<Analysis | undefined> {
    if (a.analysing && !final) return undefined;
    a.analysing = true;
    try {
      const bufs: Buffer[] = [];
      for (const f of [...a.snapshot, ...a.attacks.map((x) => x.file)]) {
        const b = await readFile(f).catch(() => undefined);
        if (b && b.length > 0) bufs.push(b);
      }
      if (bufs.length === 0) return undefined;
      const analysis = analyzeCaptures(bufs, {
        target: a.target,
        attackStart: a.attackStart,
        partialTail: true,
        table: a.table,
        ...(this.o.matcher ? { matcher: this.o.matcher } : {}),
      });
      const evidence: IncidentEvidence = {
        packetEvidence: toPacketEvidence(analysis),
        iocMatches: analysis.ioc_matches.map(iocMatchFromReport),
        pcap: { id: a.id, file: this.store.capturePath(a.id) },
      };
      // Re-announced only when a verdict or what it names changed, not at every packet counted.
      const key = JSON.stringify([
        evidence.packetEvidence!.spoofing,
        evidence.packetEvidence!.spoofedSources.map(String),
        evidence.packetEvidence!.signatures.map((s) => s.id),
        analysis.ioc_matches.map((m) => m.ioc_id),
      ]);
      if (key !== a.lastKey && !this.stopping) {
        a.lastKey = key;
        a.report(evidence);
      }
      // Nothing more will arrive once every attack capture hit its limit.
      if (!final && a.attacks.every((x) => !x.child?.running)) clearInterval(a.timer);
      return analysis;
    } catch (err) {
      this.o.logger?.warn({ incidentId: a.id, err: (err as Error).message }, 'pcap: capture could not be analysed yet');
      return undefined;
    } finally {
      a.analysing = false;
    }
  }

  private finish(a: Active, why: string): Promise<void> {
    a.finishing ??= this.doFinish(a, why).catch((err: Error) =>
      this.problem(a.id, `finishing the capture failed: ${err.message}`),
    );
    return a.finishing;
  }

  private async doFinish(a: Active, why: string): Promise<void> {
    clearInterval(a.timer);
    const record = (await this.store.read(a.id)) ?? ({} as CaptureRecord);
    await this.store.write({ ...record, state: 'finishing' });
    const stopped: string[] = [];
    for (const x of a.attacks) {
      if (!x.child) continue;
      if (!x.child.running) stopped.push(`${x.iface}: capture limit reached`);
      await x.child.stop();
    }
    try {
      const result = await this.merge(a);
      const analysis = await this.finalAnalysis(a, result.file);
      await this.store.write({
        ...record,
        state: 'ready',
        reason: stopped.length > 0 ? `${why}; ${stopped.join(', ')}` : why,
        finished_at: new Date().toISOString(),
        file: result.file,
        bytes: result.bytes,
        sha256: await sha256File(result.file),
        packets: result.packets,
        ...(analysis ? { summary: summaryOf(analysis) } : {}),
      });
      this.counts.finished++;
      this.o.logger?.info(
        { incidentId: a.id, file: result.file, bytes: result.bytes, packets: result.packets },
        'pcap: incident capture ready',
      );
    } catch (err) {
      this.counts.failed++;
      await this.store.write({
        ...record,
        state: 'failed',
        reason: (err as Error).message,
        finished_at: new Date().toISOString(),
      });
      throw err;
    } finally {
      await rm(a.work, { recursive: true, force: true });
      this.active.delete(a.id);
      await this.store.makeRoom(0, this.reserved()).catch(() => undefined);
    }
  }

  private async finalAnalysis(a: Active, file: string): Promise<Analysis | undefined> {
    try {
      return analyzeCaptures([await readFile(file)], {
        target: a.target,
        attackStart: a.attackStart,
        table: a.table,
        ...(this.o.matcher ? { matcher: this.o.matcher } : {}),
      });
    } catch (err) {
      this.o.logger?.warn(
        { incidentId: a.id, err: (err as Error).message },
        'pcap: the merged capture could not be analysed',
      );
      return undefined;
    }
  }

  /**
   * Ring snapshot (only packets before the attack capture's first one, and of those before the attack at most
   * ring.packets per interface) + attack captures → one pcapng with the incident in its section comment.
   */
  private async merge(
    a: Active,
  ): Promise<{ file: string; bytes: number; packets: { pre_attack: number; attack: number } }> {
    const tool = (argv: string[]) => run(argv[0]!, argv.slice(1), { timeout: 60_000 });
    const inputs: string[] = [];
    let attackPackets = 0;
    let firstAttack = Infinity;
    for (const x of a.attacks) {
      const b = await readFile(x.file).catch(() => undefined);
      if (!b || b.length === 0) continue;
      const d = decodeCapture(b, { partialTail: true });
      attackPackets += d.info.frames;
      for (const p of d.packets) if (p.time < firstAttack) firstAttack = p.time;
      inputs.push(x.file);
    }
    const cutoff = Number.isFinite(firstAttack) ? firstAttack : Infinity;
    let pre = 0;
    if (a.snapshot.length > 0) {
      const all = join(a.work, 'ring-all.pcapng');
      await tool(mergeArgv(all, a.snapshot));
      for (const f of a.snapshot) await unlink(f).catch(() => undefined);
      const { frames } = readFrames(await readFile(all), { partialTail: true });
      let beforeCutoff = 0;
      let beforeAttack = 0;
      for (const f of frames) {
        if (f.time < cutoff) beforeCutoff++;
        if (f.time < a.attackStart) beforeAttack++;
      }
      const keep = this.settings.ring.packets * this.settings.interfaces.length;
      const first = Math.max(1, beforeAttack - keep + 1);
      if (beforeCutoff >= first) {
        const sel = join(a.work, 'ring-sel.pcapng');
        await tool(selectArgv(all, sel, first, beforeCutoff));
        inputs.unshift(sel);
        const selected = beforeCutoff - first + 1;
        pre = Math.min(selected, Math.max(0, beforeAttack - first + 1));
        // The ring's packets from the attack's start to the dedicated capture's first packet are attack too.
        attackPackets += selected - pre;
      }
      await unlink(all).catch(() => undefined);
    }
    if (inputs.length === 0) throw new Error('nothing was captured (no ring files, no attack packets)');
    const merged = join(a.work, 'merged.pcapng');
    await tool(mergeArgv(merged, inputs));
    for (const f of inputs) await unlink(f).catch(() => undefined);
    const commented = join(a.work, 'final.pcapng');
    await tool(commentArgv(merged, commented, captureComment(a.id, a.target.toString(), a.attackStart)));
    await unlink(merged).catch(() => undefined);
    await chmod(commented, 0o600);
    const file = this.store.capturePath(a.id);
    await rename(commented, file);
    const st = await stat(file);
    return { file, bytes: st.size, packets: { pre_attack: pre, attack: attackPackets } };
  }

  /** Work left by an ft that stopped mid-capture: finished from what is there, or marked failed. */
  private async recoverWork(): Promise<void> {
    for (const id of await readdir(this.store.workDir).catch(() => [] as string[])) {
      const dir = join(this.store.workDir, id);
      const st = await stat(dir).catch(() => undefined);
      if (!st?.isDirectory()) {
        await unlink(dir).catch(() => undefined);
        continue;
      }
      const record = await this.store.read(id);
      if (!record) {
        await rm(dir, { recursive: true, force: true });
        continue;
      }
      const files = await readdir(dir);
      const a: Active = {
        id,
        incident: {} as Incident,
        target: Prefix.parse(record.target),
        attackStart: Date.parse(record.attack_start),
        startedAt: Date.parse(record.started_at),
        filter: record.filter,
        work: dir,
        snapshot: files
          .filter((f) => f.startsWith('ring-') && !f.startsWith('ring-all') && !f.startsWith('ring-sel'))
          .map((f) => join(dir, f)),
        attacks: files
          .filter((f) => f.startsWith('attack-') && f.endsWith('.pcapng'))
          .map((f) => ({ iface: f.slice('attack-'.length, -'.pcapng'.length), file: join(dir, f) })),
        reservation: this.incidentReservation,
        table: new HopTable(),
        report: () => {},
        analysing: false,
      };
      this.active.set(id, a);
      await this.doFinish(a, 'ft stopped during the capture; finished from what was written').catch((err: Error) =>
        this.problem(id, `recovering the capture failed: ${err.message}`),
      );
    }
  }

  /** Finishes captures in progress (their incidents are cut short), then stops the rings. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.learnTimer);
    await Promise.all([...this.active.values()].map((a) => this.finish(a, 'ft stopped')));
    await Promise.all(this.rings.map((r) => r.stop()));
  }
}
