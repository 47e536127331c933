import { formatTs } from '../bars/bar.js';
import { REJECT_REASON_CODES } from '../bars/rejects.js';
import type { CsvReadSummary } from '../streams/csv/csvBarReader.js';

/** Human summary of one file run: what was read, what landed, what was refused and where it went. */
export function formatReadSummary(s: CsvReadSummary, opts: { action: string; destination: string; rejectTarget: string; seconds: number }): string {
  const lines: string[] = [];
  const detected = [s.layout ? `layout ${s.layout}` : null, s.tsUnits.length > 0 ? `epoch unit ${s.tsUnits.join('+')}` : null, s.tz ? `tz ${s.tz}` : null]
    .filter(Boolean)
    .join(', ');
  lines.push(`${opts.action} ${s.file} → ${opts.destination}${detected ? ` (${detected})` : ''}`);
  lines.push(`  rows read   ${s.rows}`);
  lines.push(`  bars        ${s.bars}`);
  for (const sym of s.symbols) lines.push(`    ${sym.symbol.padEnd(10)} ${String(sym.count).padStart(8)}  ${formatTs(sym.first)} → ${formatTs(sym.last.ts)}`);
  lines.push(`  rejects     ${s.rejects.total}${s.rejects.total > 0 ? `  → ${opts.rejectTarget}` : ''}`);
  for (const code of REJECT_REASON_CODES) {
    const n = s.rejects.get(code);
    if (n > 0) lines.push(`    ${code.padEnd(24)} ${n}`);
  }
  if (s.ambiguousLocalTimes > 0) lines.push(`  DST-overlap local times resolved by order: ${s.ambiguousLocalTimes}`);
  const late = s.rejects.get('ts_not_increasing');
  if (late >= 10 && late * 100 >= s.rows) {
    lines.push(`  note: ${late} rows are earlier than a bar accepted before them; if a symbol's range above ends too late, one row with a wrong later date was accepted and refused what follows`);
  }
  const rate = opts.seconds > 0 ? Math.round(s.rows / opts.seconds) : s.rows;
  lines.push(`  time        ${opts.seconds.toFixed(2)} s (${rate} rows/s)`);
  return lines.join('\n');
}

export function summaryJson(s: CsvReadSummary, extra: Record<string, unknown>): string {
  return JSON.stringify(
    {
      file: s.file,
      layout: s.layout,
      tsUnits: s.tsUnits,
      tz: s.tz,
      rows: s.rows,
      bars: s.bars,
      rejects: { total: s.rejects.total, byReason: s.rejects.toJSON() },
      ambiguousLocalTimes: s.ambiguousLocalTimes,
      symbols: s.symbols.map((x) => ({ symbol: x.symbol, bars: x.count, from: formatTs(x.first), to: formatTs(x.last.ts) })),
      ...extra,
    },
    null,
    2,
  );
}
