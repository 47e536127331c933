import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Command } from 'commander';
import { formatTs } from '../../bars/bar.js';
import { BundlePredictor } from '../../serving/bundle/bundlePredictor.js';
import { PREDICTION_FIELDS } from '../../serving/predictor.js';
import { openDataset } from '../../training/dataset.js';
import { readTrainConfig } from '../../training/train/trainConfig.js';
import { trainFromConfig } from '../../training/train/trainRun.js';

export function registerModels(program: Command): void {
  program
    .command('train')
    .description('train a model from a config (dataset, label, cross-validation, features, model, calibration, seed) into a versioned bundle; an interrupted run resumes after its last finished fold')
    .requiredOption('-c, --config <file>', 'training config (YAML; docs/training.md lists every field)')
    .option('--json', 'print the result as JSON', false)
    .action(async (flags: { config: string; json: boolean }) => {
      const { config, text } = readTrainConfig(flags.config);
      const result = await trainFromConfig(config, text, (p) => {
        if (flags.json) return;
        const what = p.stage === 'final' ? 'final model' : `fold ${p.fold}/${p.folds}${p.resumed ? ' (from its checkpoint)' : ''}`;
        console.error(`  ${what} done, ${p.seconds.toFixed(1)} s${p.etaSeconds > 0 ? `, about ${p.etaSeconds.toFixed(0)} s to go` : ''}`);
      });
      if (flags.json) {
        console.log(JSON.stringify({ bundle: config.out, manifest: result.manifest, cv: result.cv, final: result.final }));
        return;
      }
      console.log(`bundle ${result.manifest.name} ${result.manifest.version} (${result.manifest.model.kind}) → ${config.out}`);
      for (const c of result.cv) console.log(`  fold ${String(c.fold).padStart(2)}  rows ${String(c.metrics.n).padStart(7)}  logloss ${c.metrics.logLoss.toFixed(4)}  AUC ${c.metrics.auc.toFixed(4)}  accuracy ${(c.metrics.accuracy * 100).toFixed(2)}%  base rate ${(c.metrics.baseRate * 100).toFixed(2)}%`);
    });

  program
    .command('predict')
    .description('run a bundle over a dataset: one prediction per row in the output contract (p_up, e_r, q05/q50/q95, uncertainty, regime_score), the same bits the live topology gives')
    .requiredOption('-b, --bundle <dir>', 'model bundle (barflow train)')
    .requiredOption('-d, --dataset <dir>', 'dataset folder (its feature set must be the bundle\'s)')
    .requiredOption('-o, --out <file>', 'predictions CSV to write')
    .action(async (flags: { bundle: string; dataset: string; out: string }) => {
      const dataset = openDataset(flags.dataset, { columns: [] });
      const predictor = await BundlePredictor.open(flags.bundle, dataset.manifest.featureSet.schemaHash);
      const table = openDataset(flags.dataset, { columns: predictor.bundle.manifest.features.columns }).table;
      const rows = Int32Array.from({ length: table.n }, (_, i) => i);
      const pred = await predictor.predictTable(table, rows);
      const out = createWriteStream(flags.out);
      const hash = predictor.bundle.manifest.features.schemaHash;
      out.write(`ts,symbol,model,version,schema_hash,${PREDICTION_FIELDS.join(',')}\n`);
      let answered = 0;
      for (let i = 0; i < table.n; i++) {
        const values = PREDICTION_FIELDS.map((f) => {
          const v = pred.fields[f][i]!;
          return Number.isNaN(v) ? '' : String(v);
        });
        if (values[0] !== '') answered++;
        if (!out.write(`${formatTs(table.ts[i]!)},${table.symbols[table.symbolCodes[i]!]},${predictor.name},${predictor.version},${hash},${values.join(',')}\n`)) await once(out, 'drain');
      }
      out.end();
      await once(out, 'finish');
      console.log(`${table.n} rows → ${flags.out}: ${answered} predicted, ${table.n - answered} without (features warming up)`);
    });
}
