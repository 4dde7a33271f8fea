import { chmod, unlink } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { isRuleId, type RuleId } from '@ft/sdk';
import type { Plan } from '../model/plan.js';
import type { ExecLogger, ExecReport, OpReport } from '../exec/executor.js';
import { reviveRule } from '../state/codec.js';
import type { Runner } from './runner.js';
import type { EventAppender } from '../events/log.js';

/**
 * While `ft run` owns a state directory, `ft mitigate apply|withdraw` hand their work to it over a Unix socket in
 * that directory (mode 0600 inside a 0700 directory: only the owner can ask). One JSON request per line.
 */
export type ControlRequest =
  | { op: 'apply'; plan: Plan; plannedBy: string }
  | { op: 'withdraw'; ids: string[]; plannedBy: string; reason?: string }
  | { op: 'withdraw-all'; plannedBy: string; reason?: string }
  | { op: 'forget'; ids: string[]; plannedBy: string };

export type ControlResponse = { ok: true; report: ExecReport } | { ok: false; error: string };

export const controlSocketPath = (stateDir: string) => join(stateDir, 'control.sock');

/** Revives a plan that came as JSON: prefixes back to Prefix, each rule id checked against its content. */
export function revivePlan(raw: unknown, where: string): Plan {
  const p = raw as Partial<Plan> | null;
  if (!p || typeof p !== 'object' || !Array.isArray(p.ops))
    throw new Error(`${where}: not a plan (expected an object with "ops")`);
  return {
    tenant: String(p.tenant ?? ''),
    mode: p.mode === 'preview' ? 'preview' : 'enforce',
    ...(p.incidentId ? { incidentId: String(p.incidentId) } : {}),
    ops: p.ops.map((op, i) => {
      if (!op || !['add', 'refresh', 'withdraw'].includes(op.type))
        throw new Error(`${where}: ops[${i}].type must be add, refresh or withdraw`);
      if (!Array.isArray(op.via) || op.via.some((v) => typeof v !== 'string'))
        throw new Error(`${where}: ops[${i}].via must be a list of action names`);
      return {
        ...op,
        rule: reviveRule(op.rule, `${where}: ops[${i}].rule`),
        rendered: Array.isArray(op.rendered) ? op.rendered : [],
      };
    }),
    refused: Array.isArray(p.refused) ? p.refused : [],
    notes: Array.isArray(p.notes) ? p.notes : [],
  };
}

export async function serveControl(
  runner: Runner,
  stateDir: string,
  logger: ExecLogger,
  events?: EventAppender,
): Promise<Server | undefined> {
  const path = controlSocketPath(stateDir);
  if (Buffer.byteLength(path) > 100) {
    logger.warn(
      { path },
      'state directory path too long for a Unix socket: `ft mitigate apply|withdraw` cannot reach this daemon',
    );
    return undefined;
  }
  // We hold the state directory's lock: a socket file left here is from a dead daemon.
  await unlink(path).catch(() => undefined);
  const server = createServer((socket) => handle(socket, runner, logger, events));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, resolve);
  });
  await chmod(path, 0o600);
  return server;
}

function handle(socket: Socket, runner: Runner, logger: ExecLogger, events?: EventAppender): void {
  let buf = '';
  socket.setEncoding('utf8');
  socket.on('error', () => undefined);
  socket.on('data', (chunk: string) => {
    buf += chunk;
    if (buf.length > 16 * 1024 * 1024) {
      socket.end(`${JSON.stringify({ ok: false, error: 'request too large' })}\n`);
      return;
    }
    const nl = buf.indexOf('\n');
    if (nl === -1) return;
    const line = buf.slice(0, nl);
    buf = '';
    answer(line, runner).then(
      async (res) => {
        await recordOperator(events, line, res, 'control-socket', logger);
        socket.end(`${JSON.stringify(res)}\n`);
      },
      (err: Error) => {
        logger.error({ err: err.message }, 'control request failed');
        socket.end(`${JSON.stringify({ ok: false, error: err.message })}\n`);
      },
    );
  });
}

async function answer(line: string, runner: Runner): Promise<ControlResponse> {
  let req: ControlRequest;
  try {
    req = JSON.parse(line) as ControlRequest;
  } catch {
    return { ok: false, error: 'request is not JSON' };
  }
  const plannedBy = typeof req.plannedBy === 'string' && req.plannedBy ? req.plannedBy : 'operator';
  switch (req.op) {
    case 'apply':
      return { ok: true, report: await runner.execute(revivePlan(req.plan, 'request'), { plannedBy }) };
    case 'withdraw': {
      const bad = req.ids.filter((id) => !isRuleId(id));
      if (bad.length > 0) return { ok: false, error: `not rule ids: ${bad.join(', ')}` };
      const ops: OpReport[] = await Promise.all(
        req.ids.map((id) =>
          runner.executor.withdraw(id as RuleId, req.reason ?? `withdrawn by ${plannedBy}`, { plannedBy }),
        ),
      );
      return { ok: true, report: { mode: 'enforce', ops } };
    }
    case 'withdraw-all': {
      const ids = (await runner.store.rules()).map((r) => r.rule.id);
      const ops = await Promise.all(
        ids.map((id) => runner.executor.withdraw(id, req.reason ?? `withdrawn by ${plannedBy} (--all)`, { plannedBy })),
      );
      return { ok: true, report: { mode: 'enforce', ops } };
    }
    case 'forget': {
      const bad = req.ids.filter((id) => !isRuleId(id));
      if (bad.length > 0) return { ok: false, error: `not rule ids: ${bad.join(', ')}` };
      const ops = await Promise.all(req.ids.map((id) => runner.executor.forget(id as RuleId, { plannedBy })));
      return { ok: true, report: { mode: 'enforce', ops } };
    }
    default:
      return { ok: false, error: `unknown request ${JSON.stringify((req as { op?: unknown }).op)}` };
  }
}

/** The operator's request on the event stream: who asked for what, through what, and how it went. */
export async function recordOperator(
  events: EventAppender | undefined,
  line: string | ControlRequest,
  res: ControlResponse,
  through: 'control-socket' | 'direct',
  logger: ExecLogger,
): Promise<void> {
  if (!events) return;
  let req: Partial<ControlRequest>;
  try {
    req = typeof line === 'string' ? (JSON.parse(line) as Partial<ControlRequest>) : line;
  } catch {
    return;
  }
  if (!req || typeof req.op !== 'string') return;
  const ruleIds = res.ok
    ? res.report.ops.map((o) => o.ruleId as string)
    : 'ids' in req && Array.isArray(req.ids)
      ? req.ids.map(String)
      : [];
  const outcomes = res.ok ? res.report.ops.map((o) => o.outcome) : [];
  const outcome = !res.ok
    ? ('failed' as const)
    : outcomes.every((o) => o === 'ok' || o === 'skipped')
      ? ('ok' as const)
      : outcomes.some((o) => o === 'ok')
        ? ('partial' as const)
        : ('failed' as const);
  await events
    .append([
      {
        type: 'operator.action',
        data: {
          who: typeof req.plannedBy === 'string' && req.plannedBy ? req.plannedBy : 'operator',
          action: req.op,
          through,
          ruleIds: [...new Set(ruleIds)],
          outcome,
          ...(!res.ok ? { detail: res.error } : 'reason' in req && req.reason ? { detail: String(req.reason) } : {}),
        },
      },
    ])
    .catch((err: Error) =>
      logger.error({ err: err.message }, 'could not record the operator request on the event stream'),
    );
}

/** Sends one request to the daemon owning stateDir; undefined when none listens there. */
export function controlRequest(
  stateDir: string,
  req: ControlRequest,
  timeoutMs = 120_000,
): Promise<ControlResponse | undefined> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(controlSocketPath(stateDir));
    let buf = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`ft run did not answer within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify(req)}\n`));
    socket.on('data', (d: string) => (buf += d));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') resolve(undefined);
      else reject(err);
    });
    socket.on('end', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(buf) as ControlResponse);
      } catch {
        reject(new Error('ft run sent an unreadable answer'));
      }
    });
  });
}
