import { readFileSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Bar } from '../../src/bars/bar.js';
import { FIXTURES, readNormalizedCsv } from './files.js';

export const OPERATOR_FIXTURES = resolve(FIXTURES, 'operators');

/** One complete bar of a timeframe with its golden features (scripts/fixtures/make_operator_fixtures.py). */
export interface GoldenBar {
  ts: number;
  end: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  bars: number;
  features: Record<string, number>;
}

export interface GoldenSeries {
  file: string;
  symbol: string;
  anchor: string;
  tf: string;
  bars: GoldenBar[];
  featureNames: string[];
}

/** Parsed with Date.parse and Number, independently of barflow's readers. */
export function readGolden(file: string): GoldenBar[] {
  const [header, ...lines] = readFileSync(resolve(OPERATOR_FIXTURES, file), 'utf8').trimEnd().split('\n');
  const cols = header!.split(',');
  return lines.map((line) => {
    const f = line.split(',');
    const features: Record<string, number> = {};
    for (let i = 8; i < cols.length; i++) features[cols[i]!] = f[i] === '' ? Number.NaN : Number(f[i]);
    return {
      ts: Date.parse(f[0]!),
      end: Date.parse(f[1]!),
      open: Number(f[2]),
      high: Number(f[3]),
      low: Number(f[4]),
      close: Number(f[5]),
      volume: Number(f[6]),
      bars: Number(f[7]),
      features,
    };
  });
}

export function goldenInput(symbol: string): Bar[] {
  return readNormalizedCsv(resolve(OPERATOR_FIXTURES, `${symbol}.input.csv`), symbol);
}

/** `session-America-New_York-01-30` (a file-name form) → `session:America/New_York@01:30`. */
function decodeSession(name: string): string {
  const parts = name.split('-');
  const mm = parts.pop();
  const hh = parts.pop();
  return `session:${parts.slice(1).join('/')}@${hh}:${mm}`;
}

/** Every golden series: symbol, anchor (as written in the file name, decoded) and timeframe. */
export function goldenSeries(): GoldenSeries[] {
  return readdirSync(OPERATOR_FIXTURES)
    .filter((f) => /^[A-Z]+__.+__\w+\.csv$/.test(f) || /^[A-Z]+__1m\.csv$/.test(f))
    .sort()
    .map((file) => {
      const parts = file.replace(/\.csv$/, '').split('__');
      const [symbol, anchorName, tf] = parts.length === 2 ? [parts[0]!, 'utc-day', parts[1]!] : (parts as [string, string, string]);
      const anchor = anchorName.startsWith('session-') ? decodeSession(anchorName) : anchorName;
      const bars = readGolden(file);
      const header = readFileSync(resolve(OPERATOR_FIXTURES, file), 'utf8').split('\n', 1)[0]!.split(',');
      return { file, symbol, anchor, tf, bars, featureNames: header.slice(8) };
    });
}
