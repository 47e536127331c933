import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Command } from 'commander';
import { formatTs } from '../../bars/bar.js';
import { formatMetrics } from '../../training/evaluation/metricsText.js';

// The model runtimes (onnxruntime-node, TensorFlow.js, libxgboost) load only for the commands that
// use them: every other command starts fast and small (a 32 MB heap is enough for `validate`).
const serving = () => import('../../serving/bundle/bundlePredictor.js');
const datasets = () => import('../../training/dataset.js');
const training = () => import('../../training/train/trainRun.js');
const evaluation = () => import('../../training/evaluation/evaluate.js');
const report = () => import('../../training/backtest/report/htmlReport.js');
import { DEFAULT_TOPOLOGY_DIR } from '../../paths.js';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';

export function registerModels(program: Command): void {
  program
    .command('train')
    .description('train a model from a config (dataset, label, cross-validation, features, model, calibration, seed) into a versioned bundle; an interrupted run resumes after its last finished fold')
    .requiredOption('-c, --config <file>', 'training config (YAML; docs/training.md lists every field)')
    .option('--json', 'print the result as JSON', false)
    .action(async (flags: { config: string; json: boolean }) => {
      const { readTrainConfig } = await import('../../training/train/trainConfig.js');
      const { config, text } = readTrainConfig(flags.config);
      const { trainFromConfig } = await training();
      const result = await trainFromConfig(config, text, (p) => {
        if (flags.json) return;
        if (p.stage === 'step') {
          const s = p.step!;
          // Epochs of a neural model each get a line; rounds of trees only every tenth.
          if (s.steps <= 50 || s.step % Math.ceil(s.steps / 10) === 0 || s.step === s.steps) {
            console.error(`    ${s.fit}: ${s.step}/${s.steps}${s.loss === undefined ? '' : `, loss ${s.loss.toFixed(4)}`}, ${s.seconds.toFixed(1)} s, about ${s.etaSeconds.toFixed(0)} s to go`);
          }
          return;
        }
        const what = p.stage === 'final' ? 'final model' : `fold ${p.fold}/${p.folds}${p.resumed ? ' (from its checkpoint)' : ''}`;
        console.error(`  ${what} done, ${p.seconds.toFixed(1)} s${p.etaSeconds > 0 ? `, about ${p.etaSeconds.toFixed(0)} s to go` : ''}`);
      });
      if (flags.json) {
        console.log(JSON.stringify({ bundle: config.out, manifest: result.manifest, cv: result.cv, final: result.final }));
        return;
      }
      console.log(`bundle ${result.manifest.name} ${result.manifest.version} (${result.manifest.model.kind}) → ${config.out}`);
      console.log(`  objective ${result.objective}: ${result.manifest.model.outputs.join(', ')}`);
      const ensemble = result.manifest.ensemble;
      if (ensemble !== undefined) console.log(`  ${ensemble.form} of ${ensemble.bases.map((b) => b.kind).join(', ')}; the folds below are nested CV (each outer fold's bases and meta-learner fitted on its training rows only)`);
      for (const c of result.cv) console.log(`  fold ${String(c.fold).padStart(2)}  rows ${String(c.metrics.n).padStart(7)}  ${formatMetrics(result.objective, c.metrics)}`);
      if (ensemble !== undefined) {
        const { readFileSync } = await import('node:fs');
        const metrics = JSON.parse(readFileSync(join(config.out, 'metrics.json'), 'utf8')) as { bases?: { base: number; kind: string; oof: Parameters<typeof formatMetrics>[1] }[] };
        for (const b of metrics.bases ?? []) console.log(`  base ${b.base} (${b.kind}) out of fold: ${formatMetrics(result.objective, b.oof)}`);
      }
      if (result.manifest.regime !== undefined) console.log(`  regime: ${result.manifest.regime.method}, ${result.manifest.regime.states} states on ${result.manifest.regime.columns.join(', ')} (regime_score: the filtered probability of the high-volatility state)`);
    });

  program
    .command('predict')
    .description('run a bundle over a dataset: one prediction per row in the output contract (p_up, e_r, q05/q50/q95, uncertainty, regime_score: the fields the bundle declares are filled, the others empty; then any it adds), the same bits the live topology gives')
    .requiredOption('-b, --bundle <dir>', 'model bundle (barflow train)')
    .requiredOption('-d, --dataset <dir>', 'dataset folder (its feature set must be the bundle\'s)')
    .requiredOption('-o, --out <file>', 'predictions CSV to write')
    .option('--explain <file>', 'also write the model\'s inspection weights per row to this CSV (tft: attention_lag<k> over the window, selection_<feature>)')
    .action(async (flags: { bundle: string; dataset: string; out: string; explain?: string }) => {
      const { openDataset } = await datasets();
      const dataset = openDataset(flags.dataset, { columns: [] });
      const { BundlePredictor } = await serving();
      const predictor = await BundlePredictor.open(flags.bundle, dataset.manifest.featureSet.schemaHash);
      const table = openDataset(flags.dataset, { columns: predictor.inputColumns }).table;
      const rows = Int32Array.from({ length: table.n }, (_, i) => i);
      const pred = await predictor.predictTable(table, rows);
      const interval = predictor.bundle.manifest.model.interval;
      let adaptiveNote = '';
      if (interval?.method === 'adaptive') {
        // The level adapts to realised misses, which needs the outcomes: the bundle's labels in this dataset.
        const m = predictor.bundle.manifest;
        const labelled = (dataset.manifest.labels ?? []).some((l) => l.name === m.training.labels.set && l.targets.some((t) => t.name === m.training.labels.target));
        if (labelled) {
          const { openLabels } = await import('../../training/labels/labelSet.js');
          const { adaptIntervals } = await import('../../training/conformal/adaptiveIntervals.js');
          const labels = openLabels(dataset, m.training.labels.set);
          const target = m.training.labels.target;
          const y = labels.entry.columns.includes(`${target}_ret`) ? labels.column(`${target}_ret`) : labels.column(target);
          const r = adaptIntervals(predictor.outputContract.params, interval.coverage, interval.gamma ?? 0.005, table, rows, pred.fields, { y, t1: labels.t1Of(target) });
          adaptiveNote = `; adaptive intervals: ${r.observed} outcomes observed once their labels ended, ${r.observed === 0 ? 0 : ((1 - r.missed / r.observed) * 100).toFixed(1)}% covered (nominal ${(interval.coverage * 100).toFixed(0)}%)`;
        } else adaptiveNote = `; adaptive intervals need the outcomes (label set ${m.training.labels.set}, target ${m.training.labels.target}), which ${flags.dataset} lacks: the intervals are the calibration slice's`;
      }
      const out = createWriteStream(flags.out);
      const hash = predictor.bundle.manifest.features.schemaHash;
      out.write(`ts,symbol,model,version,schema_hash,${predictor.fields.join(',')}\n`);
      // A row is answered when its first declared field is (p_up, e_r or the lowest quantile).
      const lead = predictor.fields.indexOf(predictor.declared[0]!);
      let answered = 0;
      for (let i = 0; i < table.n; i++) {
        const values = predictor.fields.map((f) => {
          const v = pred.fields[f]![i]!;
          return Number.isNaN(v) ? '' : String(v);
        });
        if (values[lead] !== '') answered++;
        if (!out.write(`${formatTs(table.ts[i]!)},${table.symbols[table.symbolCodes[i]!]},${predictor.name},${predictor.version},${hash},${values.join(',')}\n`)) await once(out, 'drain');
      }
      out.end();
      await once(out, 'finish');
      console.log(`${table.n} rows → ${flags.out}: ${answered} predicted, ${table.n - answered} without (features warming up)${adaptiveNote}`);
      if (flags.explain !== undefined) {
        const { columns, values } = await predictor.explainTable(table, rows);
        const ex = createWriteStream(flags.explain);
        ex.write(`ts,symbol,${columns.join(',')}\n`);
        for (let i = 0; i < table.n; i++) {
          const line = values.map((v) => (Number.isNaN(v[i]!) ? '' : String(v[i]!))).join(',');
          if (!ex.write(`${formatTs(table.ts[i]!)},${table.symbols[table.symbolCodes[i]!]},${line}\n`)) await once(ex, 'drain');
        }
        ex.end();
        await once(ex, 'finish');
        console.log(`inspection weights (${columns.length} per row) → ${flags.explain}`);
      }
    });

  program
    .command('evaluate')
    .description('out-of-sample evaluation of a bundle: the objective\'s metrics (per fold on its training dataset), the backtest and a reliability diagram when it gives p_up, a coverage chart for quantiles, in a self-contained HTML report')
    .requiredOption('-b, --bundle <dir>', 'model bundle (barflow train)')
    .requiredOption('-d, --dataset <dir>', 'its training dataset (out-of-fold predictions) or a later one (the bundle predicts it)')
    .option('-c, --config <file>', 'backtest config (YAML; docs/validation.md)', join(DEFAULT_TOPOLOGY_DIR, 'backtest.yaml'))
    .option('-o, --out <file>', 'HTML report to write', 'evaluation-report.html')
    .option('--json', 'print the figures as JSON', false)
    .action(async (flags: { bundle: string; dataset: string; config: string; out: string; json: boolean }) => {
      const { evaluateBundle } = await evaluation();
      const { renderBacktestReport } = await report();
      const { readBacktestConfig } = await import('../../training/backtest/backtestConfig.js');
      const ev = await evaluateBundle(flags.bundle, flags.dataset, readBacktestConfig(flags.config), process.argv.slice(1));
      const { objectiveSections, renderObjectiveReport } = await import('../../training/evaluation/objectiveReport.js');
      const title = `Evaluation of ${ev.provenance.bundle}`;
      writeFileSync(
        flags.out,
        ev.backtest === null
          ? renderObjectiveReport(ev, title)
          : renderBacktestReport(ev.backtest, { title, ...(ev.classification === null ? {} : { classification: ev.classification }), sections: objectiveSections(ev) }),
      );
      if (flags.json) {
        const backtest = ev.backtest === null ? null : { overall: ev.backtest.overall.metrics, summary: ev.backtest.groups?.summary ?? null };
        console.log(JSON.stringify({ source: ev.source, objective: ev.objective, metrics: ev.metrics, coverage: ev.coverage, classification: ev.classification, backtest, note: ev.note ?? null, report: flags.out }));
        return;
      }
      const c = ev.classification;
      console.log(`evaluation of ${ev.provenance.bundle} on ${flags.dataset} (${ev.source === 'oof' ? 'out-of-fold predictions' : 'the bundle run over this dataset'})`);
      if (ev.metrics !== null) console.log(`  ${ev.objective}: ${ev.metrics.overall.n} rows, ${formatMetrics(ev.objective, ev.metrics.overall)}`);
      for (const cov of ev.coverage ?? []) console.log(`  coverage of [${cov.levels.join(', ')}]: ${(cov.observed * 100).toFixed(1)}% (nominal ${(cov.nominal * 100).toFixed(0)}%)`);
      if (c !== null) {
        console.log(`  ${c.title}: ${c.overall.n} rows, log loss ${c.overall.logLoss.toFixed(4)}, Brier ${c.overall.brier.toFixed(4)}, AUC ${c.overall.auc.toFixed(4)}, accuracy ${(c.overall.accuracy * 100).toFixed(2)}% (base rate ${(c.overall.baseRate * 100).toFixed(2)}%)`);
        console.log(`  reliability: ${c.reliability.filter((b) => b.count > 0).map((b) => `${b.meanPredicted.toFixed(2)}→${b.observed.toFixed(2)} (${b.count})`).join('  ')}`);
      }
      if (ev.note !== undefined) console.log(`  note: ${ev.note}`);
      if (ev.backtest !== null) {
        const o = ev.backtest.overall.metrics;
        console.log(`  backtest: total return ${(o.totalReturn * 100).toFixed(2)}%, Sharpe ${o.sharpe.toFixed(2)}, max drawdown ${(o.maxDrawdown * 100).toFixed(2)}%, ${o.trades} trades, costs ${(o.costs * 100).toFixed(2)}%`);
      }
      console.log(`report → ${flags.out}`);
    });
}
