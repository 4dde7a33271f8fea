/** Plain text table: columns padded to their widest cell, no borders (same look as ft's core commands). */
export function table(headers: string[], rows: string[][]): string {
  return [...tableLines(headers, rows)].join('\n');
}

/**
 * The table's lines one at a time (a capture's totals can have hundreds of thousands of rows: widths are worked
 * out in one pass, never by spreading every row into Math.max, which overflows the stack).
 */
export function* tableLines(headers: string[], rows: string[][]): Generator<string> {
  const widths = headers.map((h) => h.length);
  for (const r of rows) for (let i = 0; i < widths.length; i++) widths[i] = Math.max(widths[i]!, (r[i] ?? '').length);
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  yield line(headers);
  yield line(widths.map((w) => '-'.repeat(w)));
  for (const r of rows) yield line(r);
}
