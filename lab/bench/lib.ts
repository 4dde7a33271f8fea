import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'results');

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] as number;
}

export const round = (n: number, digits = 2) => Number(n.toFixed(digits));

/** Writes results/<name>.json with the machine it ran on, and prints a one-line summary. */
export function writeResult(name: string, result: Record<string, unknown>, summary: string): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const body = { name, at: new Date().toISOString(), node: process.version, ...result };
  writeFileSync(join(RESULTS_DIR, `${name}.json`), `${JSON.stringify(body, null, 2)}\n`);
  console.log(summary);
}
