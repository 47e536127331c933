import type { FeatureTable } from '../../training/featureTable.js';
import { modelKind } from '../../training/models/index.js';
import type { Scorer } from '../../training/models/modelRegistry.js';
import { type ScalerParams, scaleInto } from '../../training/models/scaler.js';
import type { ObjectiveSpec } from '../../training/objectives/objective.js';
import { OutputContract } from '../../training/objectives/outputContract.js';
import { type LiveRow, type ModelView, type ViewParams, modelView } from '../../training/views/modelView.js';
import { PREDICTION_FIELDS } from '../predictor.js';
import { type LoadedBundle, loadBundle } from './bundle.js';

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

/**
 * A bundle ready to predict: the files checked (loadBundle), its kind found in the registry and its
 * artifact loaded by that kind, its view and output contract from the manifest. The same code
 * serves `barflow predict` and the live topology, so the two give the same bits: samples scaled in
 * float64, narrowed to float32, the scorer, the contract in float64.
 */
export class BundlePredictor {
  /** predictionFields of the bundle. */
  readonly fields: readonly string[];
  /** The fields the bundle declares (filled after warm-up), in the contract's order. */
  readonly declared: readonly string[];
  /** Position in `fields` of each declared output. */
  private readonly slots: Int32Array;

  private constructor(
    readonly bundle: LoadedBundle,
    private readonly scorer: Scorer,
    private readonly view: ModelView,
    private readonly viewParams: ViewParams,
    private readonly scaler: ScalerParams,
    private readonly contract: OutputContract,
  ) {
    this.fields = predictionFields(contract.fields);
    this.declared = contract.fields;
    this.slots = Int32Array.from(contract.fields, (f) => this.fields.indexOf(f));
  }

  static async open(dir: string, expectSchemaHash?: string): Promise<BundlePredictor> {
    const bundle = loadBundle(dir, expectSchemaHash);
    const m = bundle.manifest.model;
    const kind = modelKind(m.kind);
    const spec: ObjectiveSpec = { objective: m.objective, quantiles: m.quantiles };
    const files = new Map(m.files.map((f) => [f.slice('model/'.length), bundle.file(f)]));
    const scorer = await kind.load({ format: m.format, files }, spec);
    if (scorer.outputs.join() !== m.rawOutputs.join()) throw new Error(`bundle ${dir}: its ${m.kind} model gives ${scorer.outputs.join(', ')}, the manifest says ${m.rawOutputs.join(', ')}`);
    const contract = OutputContract.fromJson(spec, bundle.json<Record<string, unknown>>(bundle.manifest.calibrator));
    if (contract.fields.join() !== m.outputs.join()) throw new Error(`bundle ${dir}: objective ${m.objective} declares ${contract.fields.join(', ')}, the manifest says ${m.outputs.join(', ')}`);
    return new BundlePredictor(bundle, scorer, modelView(m.view.name), m.view.params, bundle.json<ScalerParams>(bundle.manifest.scaler), contract);
  }

  get name(): string {
    return this.bundle.manifest.name;
  }

  get version(): string {
    return this.bundle.manifest.version;
  }

  /** Predicts the given rows of a feature table (in batches of `batchSize`). */
  async predictTable(table: FeatureTable, rows: ArrayLike<number>, batchSize = 8192): Promise<PredictionColumns> {
    const columns = this.bundle.manifest.features.columns;
    const n = rows.length;
    const fields = Object.fromEntries(this.fields.map((f) => [f, new Float64Array(n).fill(Number.NaN)]));
    // Rows the model can answer: a complete sample; the others stay NaN.
    const ok = new Set(Array.from(this.view.answerable(table, columns, this.viewParams, rows)));
    const positions: number[] = [];
    for (let i = 0; i < n; i++) if (ok.has(rows[i]!)) positions.push(i);
    const out = new Float64Array(this.contract.fields.length);
    for (let s = 0; s < positions.length; s += batchSize) {
      const part = positions.slice(s, s + batchSize);
      const idx = part.map((i) => rows[i]!);
      const raw = await this.score([this.view.samples(table, columns, this.viewParams, idx)], idx.length);
      part.forEach((i, k) => {
        this.contract.row(raw, k, out);
        this.contract.fields.forEach((f, j) => (fields[f]![i] = out[j]!));
      });
    }
    return { rows: Int32Array.from(rows), fields };
  }

  /**
   * Live rows (full feature vectors in the feature set's order, and the window when the view keeps
   * one), `columnIndex` picking the bundle's columns: one array per row in `fields` order. Same
   * arithmetic as predictTable, so the same bits.
   */
  async predictLive(rows: readonly LiveRow[], columnIndex: Int32Array): Promise<Float64Array[]> {
    const result = rows.map(() => new Float64Array(this.fields.length).fill(Number.NaN));
    const samples: Float64Array[] = [];
    const at: number[] = [];
    rows.forEach((r, i) => {
      const s = this.view.liveSample(r, columnIndex, this.viewParams);
      if (s === null) return;
      samples.push(s);
      at.push(i);
    });
    if (at.length === 0) return result;
    const raw = await this.score(samples, at.length);
    const out = new Float64Array(this.contract.fields.length);
    at.forEach((i, k) => {
      this.contract.row(raw, k, out);
      for (let j = 0; j < out.length; j++) result[i]![this.slots[j]!] = out[j]!;
    });
    return result;
  }

  /** Scales raw samples (float64: one array per sample, or one holding them all) into float32 and runs the scorer on them. */
  private score(samples: readonly Float64Array[], n: number): Promise<Float64Array> {
    const f = this.bundle.manifest.features.columns.length;
    const steps = this.view.steps(this.viewParams);
    const x = new Float32Array(n * steps * f);
    let at = 0;
    for (const s of samples) {
      const rows = s.length / f;
      scaleInto(this.scaler, s, rows, x, at);
      at += rows * f;
    }
    return this.scorer.score(x, this.view.dims(n, f, this.viewParams));
  }
}
