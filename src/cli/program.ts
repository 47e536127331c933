import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { setLogLevel } from '../log.js';
import { PACKAGE_ROOT } from '../paths.js';
import { registerDemo } from './commands/demo.js';
import { registerExport } from './commands/export.js';
import { registerFileCommands } from './commands/fileCommands.js';
import { registerLive } from './commands/live.js';
import { registerModels } from './commands/models.js';
import { registerOperatorCommands } from './commands/operatorCommands.js';
import { registerPbo } from './commands/pbo.js';
import { registerReplay } from './commands/replay.js';
import { registerServices } from './commands/services.js';
import { registerTopology } from './commands/topology.js';
import { registerTraining } from './commands/training.js';

const { version } = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };

export function buildProgram(): Command {
  const program = new Command('barflow')
    .version(version)
    .description('Causal features and predictions from 1-minute market bars: files, Kafka and QuestDB')
    .option('--log-level <level>', 'log level of the JSON logs on stderr (trace, debug, info, warn, error)', process.env.BARFLOW_LOG_LEVEL ?? 'warn')
    .showHelpAfterError('(run with --help for usage)')
    .hook('preAction', (cmd) => setLogLevel(cmd.opts<{ logLevel: string }>().logLevel));
  registerDemo(program);
  registerServices(program);
  registerTopology(program);
  registerFileCommands(program);
  registerOperatorCommands(program);
  registerReplay(program);
  registerExport(program);
  registerLive(program);
  registerTraining(program);
  registerPbo(program);
  registerModels(program);
  return program;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  const program = buildProgram().exitOverride();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    console.error(`barflow: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}


