import type { Command } from 'commander';
import { SYMBOL_PATTERN } from '../../bars/bar.js';
import { CsvBarWriter } from '../../streams/csv/csvBarWriter.js';
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
}
