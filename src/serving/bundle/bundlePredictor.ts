import { join } from 'node:path';
import type { FeatureTable } from '../../training/featureTable.js';
import { modelKind } from '../../training/models/index.js';
import type { ScalerParams } from '../../training/models/scaler.js';
import type { ObjectiveSpec } from '../../training/objectives/objective.js';
import { OutputContract } from '../../training/objectives/outputContract.js';
import { type RegimeDoc, filterTable, parseRegimeDoc } from '../../training/regime/regimeModel.js';
import { type LiveRow, modelView } from '../../training/views/modelView.js';
import type { WindowSpec } from '../live/recentRows.js';
import { PREDICTION_FIELDS } from '../predictor.js';
import { type LoadedBundle, loadBundle } from './bundle.js';
import { EnsembleScoring, ModelScoring, type RawScoring } from './bundleScoring.js';

/** Predictions of a set of rows: one array per field of the bundle (`predictionFields`), NaN where the model cannot say. */
export interface PredictionColumns {
  rows: Int32Array;
  fields: Record<string, Float64Array>;
}

/**
 * The fields a bundle's predictions carry, in message order: the output contract's fields (those
 * it does not declare stay NaN, null in messages), then any it declares beyond them (class
 * probabilities, quantile levels other than 5/50/95 %).
 */
export function predictionFields(declared: readonly string[]): string[] {
  const base: readonly string[] = PREDICTION_FIELDS;
  return [...base, ...declared.filter((f) => !base.includes(f))];
}

/** The regime a served bundle filters per symbol: its model and the observation columns' indices in the feature row. */
export interface LiveRegime {
  doc: RegimeDoc;
  columns: Int32Array;
}

/** A bundle bound to a live feature set: what the live state keeps per symbol and the batch call. */
export interface LiveBinding {
  window?: WindowSpec;
  regime?: LiveRegime;
  predict(rows: readonly LiveRow[]): Promise<Float64Array[]>;
}

/**
 * A bundle ready to predict: the files checked (loadBundle), its kind found in the registry and its
 * artifact loaded by that kind (an ensemble: its base bundles and meta-learner), its view, output
 * contract and regime filter from the manifest. The same code serves `barflow predict` and the
 * live topology, so the two give the same bits: samples scaled in float64, narrowed to float32,
 * the scorer, the contract in float64; the regime filtered forward from each symbol's first row.
 */
export class BundlePredictor {
  /** predictionFields of the bundle. */
  readonly fields: readonly string[];
  /** The fields the bundle declares (filled after warm-up), in the contract's order, regime_score last when it has a regime. */
  readonly declared: readonly string[];
  /** Position in `fields` of each of the contract's fields. */
  private readonly slots: Int32Array;
  private readonly regimeSlot: number;

  private constructor(
    readonly bundle: LoadedBundle,
    private readonly scoring: RawScoring,
    private readonly contract: OutputContract,
    readonly regime: RegimeDoc | null,
  ) {
    this.declared = [...contract.fields, ...(regime === null ? [] : ['regime_score'])];
    this.fields = predictionFields(this.declared);
    this.slots = Int32Array.from(contract.fields, (f) => this.fields.indexOf(f));
    this.regimeSlot = this.fields.indexOf('regime_score');
  }

  static async open(dir: string, expectSchemaHash?: string): Promise<BundlePredictor> {
    const bundle = loadBundle(dir, expectSchemaHash);
    const manifest = bundle.manifest;
    const m = manifest.model;
    const spec: ObjectiveSpec = { objective: m.objective, quantiles: m.quantiles, ...(m.interval === undefined ? {} : { interval: m.interval }) };
    let scoring: RawScoring;
    if (manifest.ensemble !== undefined) {
      const bases = await Promise.all(manifest.ensemble.bases.map((b) => BundlePredictor.open(join(dir, b.dir), expectSchemaHash)));
      scoring = await EnsembleScoring.load(bundle, spec, bases);
    } else {
      const kind = modelKind(m.kind);
      const member = async (files: string[], scaler: string) => {
        const scorer = await kind.load({ format: m.format as 'onnx' | 'tfjs', files: new Map(files.map((f) => [f.replace(/^(?:folds\/\d+\/)?model\//, ''), bundle.file(f)])) }, { objective: m.objective, quantiles: m.quantiles });
        return { scorer, scaler: bundle.json<ScalerParams>(scaler) };
      };
      const members = [await member(m.files, manifest.scaler), ...(await Promise.all((m.members ?? []).map((x) => member(x.files, x.scaler))))];
      const outputs = members.flatMap((x, k) => x.scorer.outputs.map((o) => (k === 0 ? o : `${o}_fold${k - 1}`)));
      if (outputs.join() !== m.rawOutputs.join()) throw new Error(`bundle ${dir}: its ${m.kind} model gives ${outputs.join(', ')}, the manifest says ${m.rawOutputs.join(', ')}`);
      scoring = new ModelScoring(modelView(m.view.name), m.view.params, manifest.features.columns, members);
    }
    const contract = OutputContract.fromJson(spec, bundle.json<Record<string, unknown>>(manifest.calibrator));
    if (contract.width !== scoring.width) throw new Error(`bundle ${dir}: its contract reads ${contract.width} raw values per row, its model gives ${scoring.width}`);
    const regime = manifest.regime === undefined ? null : parseRegimeDoc(bundle.json(manifest.regime.file), `bundle ${dir}: ${manifest.regime.file}`);
    const declared = [...contract.fields, ...(regime === null ? [] : ['regime_score'])];
    if (declared.join() !== m.outputs.join()) throw new Error(`bundle ${dir}: objective ${m.objective} declares ${declared.join(', ')}, the manifest says ${m.outputs.join(', ')}`);
    return new BundlePredictor(bundle, scoring, contract, regime);
  }

  /** The output contract (its fitted parameters: calibrator, conformal scores). */
  get outputContract(): OutputContract {
    return this.contract;
  }

  get name(): string {
    return this.bundle.manifest.name;
  }

  get version(): string {
    return this.bundle.manifest.version;
  }

  /** Every feature column the bundle reads from a table: its model's (its bases'), and the regime's observations. */
  get inputColumns(): string[] {
    return [...new Set([...this.scoring.inputColumns, ...(this.regime?.columns ?? [])])];
  }

  /**
   * Predicts the given rows of a feature table (in batches of `batchSize`). The regime is filtered
   * over every row of the table (each symbol from its first), whichever rows are asked for.
   */
  async predictTable(table: FeatureTable, rows: ArrayLike<number>, batchSize = 8192): Promise<PredictionColumns> {
    const n = rows.length;
    const fields = Object.fromEntries(this.fields.map((f) => [f, new Float64Array(n).fill(Number.NaN)]));
    const probs = this.regime === null ? null : filterTable(this.regime, table);
    const states = this.regime?.hmm.states ?? 0;
    const out = new Float64Array(this.contract.fields.length);
    for (let s = 0; s < n; s += batchSize) {
      const idx = Array.from({ length: Math.min(batchSize, n - s) }, (_, k) => rows[s + k]!);
      const { answered, raw } = await this.scoring.table(table, idx, probs);
      answered.forEach((i, k) => {
        this.contract.row(raw, k, out);
        this.contract.fields.forEach((f, j) => (fields[f]![s + i] = out[j]!));
      });
    }
    if (probs !== null) {
      const score = fields.regime_score!;
      for (let i = 0; i < n; i++) score[i] = probs[rows[i]! * states + this.regime!.highState]!;
    }
    return { rows: Int32Array.from(rows), fields };
  }

  /**
   * The model's inspection weights for the rows (Scorer.explain: the TFT's attention over the
   * window and its variable selection), one column per step (`attention_lag0` is the row's own
   * step) or per feature (`selection_<feature>`); NaN where a row is not answered. Refuses a
   * bundle whose kind has no explanation.
   */
  async explainTable(table: FeatureTable, rows: ArrayLike<number>, batchSize = 8192): Promise<{ columns: string[]; values: Float64Array[] }> {
    const kind = this.bundle.manifest.model.kind;
    if (!(this.scoring instanceof ModelScoring)) throw new Error(`bundle ${this.name}: an ensemble (${kind}) has no explanation; explain one of its bases`);
    const n = rows.length;
    let columns: string[] | null = null;
    let values: Float64Array[] = [];
    for (let s = 0; s < n; s += batchSize) {
      const idx = Array.from({ length: Math.min(batchSize, n - s) }, (_, k) => rows[s + k]!);
      const r = await this.scoring.explain(table, idx);
      if (r === null) throw new Error(`bundle ${this.name}: model kind ${kind} has no explanation (the tft has: attention and variable selection weights)`);
      if (columns === null) {
        const features = this.scoring.inputColumns;
        columns = r.explanation.parts.flatMap((p) => Array.from({ length: p.width }, (_, j) => (p.axis === 'steps' ? `${p.name}_lag${p.width - 1 - j}` : `${p.name}_${features[j]}`)));
        values = columns.map(() => new Float64Array(n).fill(Number.NaN));
      }
      let col = 0;
      for (const p of r.explanation.parts) {
        r.answered.forEach((i, k) => {
          for (let j = 0; j < p.width; j++) values[col + j]![s + i] = p.values[k * p.width + j]!;
        });
        col += p.width;
      }
    }
    return { columns: columns ?? [], values };
  }

  /** Binds the bundle to a live feature set's columns (by name): the window and regime state it needs per symbol, and the batch call. */
  bindLive(featureColumns: readonly string[], where = 'the feature set'): LiveBinding {
    return this.bindLiveBy((c) => {
      const i = featureColumns.indexOf(c);
      if (i < 0) throw new Error(`bundle ${this.bundle.dir}: column ${c} is not in ${where}`);
      return i;
    });
  }

  /** bindLive with the feature row's index of each column given by `index`. */
  bindLiveBy(index: (column: string) => number): LiveBinding {
    const live = this.scoring.bindLive(index);
    const regime = this.regime === null ? undefined : { doc: this.regime, columns: Int32Array.from(this.regime.columns, index) };
    const width = this.fields.length;
    const out = new Float64Array(this.contract.fields.length);
    return {
      ...(live.window === undefined ? {} : { window: live.window }),
      ...(regime === undefined ? {} : { regime }),
      predict: async (rows) => {
        const result = rows.map(() => new Float64Array(width).fill(Number.NaN));
        const { answered, raw } = await live.raw(rows);
        answered.forEach((i, k) => {
          this.contract.row(raw, k, out);
          for (let j = 0; j < out.length; j++) result[i]![this.slots[j]!] = out[j]!;
        });
        if (this.regime !== null) rows.forEach((r, i) => (result[i]![this.regimeSlot] = r.regime === null || r.regime === undefined ? Number.NaN : r.regime[this.regime!.highState]!));
        return result;
      },
    };
  }

  /** Live rows whose values are in the bundle's own column order (`columnIndex` picks them from a feature row): bench and tests. */
  async predictLive(rows: readonly LiveRow[], columnIndex: Int32Array): Promise<Float64Array[]> {
    if (this.bound?.index !== columnIndex) {
      const columns = this.bundle.manifest.features.columns;
      this.bound = { index: columnIndex, binding: this.bindLiveBy((c) => columnIndex[columns.indexOf(c)]!) };
    }
    return this.bound.binding.predict(rows);
  }

  private bound: { index: Int32Array; binding: LiveBinding } | null = null;
}

