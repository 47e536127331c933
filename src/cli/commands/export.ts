import type { Command } from 'commander';
import { SYMBOL_PATTERN } from '../../bars/bar.js';
import { loadFeatureSet } from '../../operators/featureSet.js';
import type { FeatureRow } from '../../operators/rx.js';
import { CsvBarWriter } from '../../streams/csv/csvBarWriter.js';
import { FeatureCsvWriter } from '../../streams/csv/featureCsvWriter.js';
import { FEATURES_TABLE, readFeatureRows } from '../../streams/questdb/featureWriter.js';
import { readBars } from '../../streams/questdb/barExport.js';
import { BARS_TABLE } from '../../streams/questdb/barWriter.js';
import { QuestDb } from '../../streams/questdb/questDb.js';
import { addQuestDbOptions, instantArg, questDbFrom, tableArg } from '../options.js';

export function registerExport(program: Command): void {
  const exp = program.command('export').description('read data back out of QuestDB');

  const bars = exp
    .command('bars')
    .description('write a symbol\'s bars from QuestDB as CSV (ts,open,high,low,close,volume), streaming in time order')
    .requiredOption('-s, --symbol <symbol>', 'symbol to export')
    .option('--from <time>', 'first bar open time, inclusive (ISO-8601 with Z/offset, or a date)', instantArg)
    .option('--to <time>', 'end, exclusive (ISO-8601 with Z/offset, or a date)', instantArg)
    .requiredOption('-o, --out <file>', 'output CSV file, or - for stdout')
    .option('--table <name>', 'QuestDB table', tableArg, BARS_TABLE);
  addQuestDbOptions(bars);
  bars.action(async (flags: { symbol: string; from?: number; to?: number; out: string; table: string; questdb: string; questdbPg?: string }) => {
    if (!SYMBOL_PATTERN.test(flags.symbol)) throw new Error(`invalid symbol ${JSON.stringify(flags.symbol)}`);
    const db = new QuestDb(questDbFrom(flags));
    const writer = new CsvBarWriter(flags.out);
    try {
      for await (const page of readBars(db, { symbol: flags.symbol, from: flags.from, to: flags.to, table: flags.table })) {
        await writer.write(page);
      }
    } finally {
      await writer.close();
      await db.close();
    }
    if (writer.rows === 0) console.error(`no ${flags.symbol} bars in ${flags.table} for that range; wrote the header only`);
    else if (flags.out !== '-') console.error(`exported ${writer.rows} ${flags.symbol} bars from ${flags.table} to ${flags.out}`);
  });

  const features = exp
    .command('features')
    .description("write a symbol's feature rows from QuestDB in the exact CSV form of `barflow features` (compare the two with cmp)")
    .requiredOption('-s, --symbol <symbol>', 'symbol to export')
    .option('--from <time>', 'first row ts, inclusive (ISO-8601 with Z/offset, or a date)', instantArg)
    .option('--to <time>', 'end, exclusive (ISO-8601 with Z/offset, or a date)', instantArg)
    .option('--features <file>', 'feature-set file the rows were computed with [default: topology/features/default.yaml]')
    .requiredOption('-o, --out <file>', 'output CSV file, or - for stdout')
    .option('--table <name>', 'QuestDB table', tableArg, FEATURES_TABLE);
  addQuestDbOptions(features);
  features.action(async (flags: { symbol: string; from?: number; to?: number; features?: string; out: string; table: string; questdb: string; questdbPg?: string }) => {
    if (!SYMBOL_PATTERN.test(flags.symbol)) throw new Error(`invalid symbol ${JSON.stringify(flags.symbol)}`);
    const featureSet = loadFeatureSet(flags.features);
    const db = new QuestDb(questDbFrom(flags));
    const writer = new FeatureCsvWriter(flags.out, featureSet);
    const row: FeatureRow = { symbol: flags.symbol, ts: 0, values: new Float64Array(0), schemaHash: featureSet.schemaHash };
    try {
      for await (const page of readFeatureRows(db, flags.table, featureSet, flags.symbol, 10_000, { from: flags.from, to: flags.to })) {
        for (const r of page) {
          row.ts = r.ts;
          row.values = r.values;
          writer.add(row);
        }
        await writer.flush();
      }
    } finally {
      await writer.close();
      await db.close();
    }
    if (writer.rows === 0) console.error(`no ${flags.symbol} rows in ${flags.table} for that range; wrote the header only`);
    else if (flags.out !== '-') console.error(`exported ${writer.rows} ${flags.symbol} feature rows from ${flags.table} to ${flags.out}`);
  });
}
