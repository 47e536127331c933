import { statSync } from 'node:fs';
import { basename, isAbsolute } from 'node:path';
import { glob, isDynamicPattern } from 'tinyglobby';
import { isValidSymbol } from '../../bars/bar.js';
import { fileFormat } from './barSources.js';
import type { ReplayUnit, UnitInput } from './replayTypes.js';

/** Where the bars of a replay come from. */
export type ReplaySource =
  | { kind: 'files'; patterns: string[]; symbol?: string }
  | { kind: 'questdb'; table: string; symbols: string[]; from?: number; to?: number };

/**
 * The symbol a file name gives: the name without extension up to its first `_`
 * (`BTCUSDT_binanceus_1m_2023.csv` → `BTCUSDT`, `ES.parquet` → `ES`), or null if that is no symbol.
 */
export function symbolFromFileName(path: string): string | null {
  const name = basename(path).replace(/\.[^.]*$/, '');
  const candidate = name.split('_')[0]!;
  return candidate !== '' && isValidSymbol(candidate) ? candidate : null;
}

/** Expands the patterns (globs or plain paths) into a sorted, de-duplicated list of files. */
export async function expandInputs(patterns: string[]): Promise<string[]> {
  const files = new Set<string>();
  for (const pattern of patterns) {
    if (!isDynamicPattern(pattern)) {
      let isFile = false;
      try {
        isFile = statSync(pattern).isFile();
      } catch {
        throw new Error(`input not found: ${pattern}`);
      }
      if (!isFile) throw new Error(`input is not a file: ${pattern} (use a glob such as ${pattern.replace(/\/$/, '')}/*.csv)`);
      files.add(pattern);
      continue;
    }
    // Paths come back the way the pattern was written: absolute for an absolute pattern.
    const matched = await glob(pattern, { onlyFiles: true, expandDirectories: false, absolute: isAbsolute(pattern) });
    if (matched.length === 0) throw new Error(`no file matches ${pattern}`);
    for (const f of matched) files.add(f);
  }
  return [...files].sort();
}

/**
 * Splits a replay into units. Files are grouped by the symbol they are for (`--symbol`, else the
 * file name), so one symbol's files run in order through one pipeline; a file with a symbol column
 * takes its symbols from the column (the file name only names its unit). QuestDB sources give one
 * unit per symbol. Units are numbered in sorted order, which fixes the order of rejects.
 */
export async function planUnits(source: ReplaySource): Promise<ReplayUnit[]> {
  if (source.kind === 'questdb') {
    const symbols = [...new Set(source.symbols)].sort();
    if (symbols.length === 0) throw new Error('--from-questdb needs --symbols A,B,…');
    return symbols.map((symbol, id) => ({ id, key: symbol, bytes: 0, inputs: [{ kind: 'questdb', table: source.table, symbol, from: source.from, to: source.to }] }));
  }
  const files = await expandInputs(source.patterns);
  const groups = new Map<string, UnitInput[]>();
  let bytes = new Map<string, number>();
  for (const path of files) {
    const fromName = symbolFromFileName(path);
    const key = source.symbol ?? fromName ?? basename(path);
    const input: UnitInput = { kind: 'file', path, format: fileFormat(path), symbol: source.symbol, defaultSymbol: source.symbol === undefined ? (fromName ?? undefined) : undefined };
    const group = groups.get(key) ?? [];
    group.push(input);
    groups.set(key, group);
    bytes = bytes.set(key, (bytes.get(key) ?? 0) + statSync(path).size);
  }
  return [...groups.keys()].sort().map((key, id) => ({ id, key, inputs: groups.get(key)!, bytes: bytes.get(key)! }));
}
