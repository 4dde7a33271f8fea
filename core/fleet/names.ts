import { createHash } from 'node:crypto';

export class FleetNameError extends Error {}

const POP_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/** POP names become part of queue names and Redis keys: a small alphabet, never ':' (BullMQ refuses it). */
export function checkPop(pop: string): string {
  if (!POP_RE.test(pop))
    throw new FleetNameError(
      `POP name "${pop}": use letters, digits, '.', '_' or '-' (at most 63, starting with a letter or digit)`,
    );
  return pop;
}

export const queueName = (pop: string) => `ft-pop-${checkPop(pop)}`;

/**
 * The stable part of a job id: a hash of what the job is about. Rule ids and IPv6 prefixes hold ':' which BullMQ
 * forbids in ids, and two controllers asking for the same op on the same rule and speaker must land on the same id
 * so the second add collapses into the first.
 */
export function jobBase(op: string, ...parts: string[]): string {
  return `${op}-${createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 24)}`;
}

/** A job id: base plus an epoch, because BullMQ keeps refusing an id while a finished job with it is kept. */
export const jobId = (base: string, epoch: number | string) => `${base}-${epoch}`;
