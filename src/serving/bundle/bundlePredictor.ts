import { type Calibrator, calibrate } from '../../training/models/calibration.js';
import { type ScalerParams, applyScaler } from '../../training/models/scaler.js';
import type { FeatureTable } from '../../training/featureTable.js';
import { TabularView } from '../../training/views/tabularView.js';
import { WindowView } from '../../training/views/windowView.js';
import { PREDICTION_FIELDS } from '../predictor.js';
import { openOnnxSession, runOnnx } from '../onnx/onnxSession.js';
import { type LoadedBundle, loadBundle } from './bundle.js';

/** Predictions of a set of rows in the output contract's fields (NaN where the model cannot say). */
export interface PredictionColumns {
  rows: Int32Array;
  /** One array per PREDICTION_FIELDS entry, aligned with rows. */
  fields: Record<(typeof PREDICTION_FIELDS)[number], Float64Array>;
}

/**
 * A bundle ready to predict: the files checked (loadBundle), the model opened from its bytes. The
 * same code serves `barflow predict` and the live topology, so the two give the same bits: inputs
 * scaled in float64, narrowed to float32, the ONNX graph, the calibrator in float64.
 */
export class BundlePredictor {
  private constructor(
    readonly bundle: LoadedBundle,
    /** Window (or row) inputs, scaled, float32 → raw P(up): the ONNX graph or the TensorFlow.js model. */
    private readonly model: (x: Float32Array, dims: number[]) => Promise<Float64Array>,
    private readonly scaler: ScalerParams,
    private readonly calibrator: Calibrator,
    private readonly expectedReturn: { up: number; notUp: number },
  ) {}

  static async open(dir: string, expectSchemaHash?: string): Promise<BundlePredictor> {
    const bundle = loadBundle(dir, expectSchemaHash);
    const m = bundle.manifest;
    let model: (x: Float32Array, dims: number[]) => Promise<Float64Array>;
    if (m.model.format === 'onnx') {
      const session = await openOnnxSession(bundle.file(m.model.files[0]!));
      model = (x, dims) => runOnnx(session, x, dims);
    } else {
      const { loadLstm } = await import('../../training/models/lstm/lstmModel.js');
      const { selectBackend } = await import('../../training/models/lstm/tfBackend.js');
      const files = new Map(m.model.files.map((f) => [f.slice('model/'.length), bundle.file(f)]));
      // A TensorFlow.js model reproduces its bits only on the backend that trained it.
      const trainedOn = (JSON.parse(Buffer.from(files.get('model.json')!).toString('utf8')) as { userDefinedMetadata?: { barflow?: { backend?: string } } }).userDefinedMetadata?.barflow?.backend;
      await selectBackend(trainedOn === 'wasm' || trainedOn === 'cpu' ? trainedOn : trainedOn === 'tensorflow' ? 'node' : 'auto');
      const lstm = await loadLstm(files);
      model = async (x, dims) => Float64Array.from(lstm.predict(x, dims[0]!));
    }
    const { calibrator, expectedReturn } = bundle.json<{ calibrator: Calibrator; expectedReturn: { up: number; notUp: number } }>(m.calibrator);
    // JSON has no NaN: an unknown expected return was written as null and is NaN again here.
    const er = { up: expectedReturn.up ?? Number.NaN, notUp: expectedReturn.notUp ?? Number.NaN };
    return new BundlePredictor(bundle, model, bundle.json<ScalerParams>(m.scaler), calibrator, er);
  }

  get name(): string {
    return this.bundle.manifest.name;
  }

  get version(): string {
    return this.bundle.manifest.version;
  }

  /** Predicts the given rows of a feature table (in batches of `batchSize`). */
  async predictTable(table: FeatureTable, rows: ArrayLike<number>, batchSize = 8192): Promise<PredictionColumns> {
    const m = this.bundle.manifest;
    const columns = m.features.columns;
    const n = rows.length;
    const fields = Object.fromEntries(PREDICTION_FIELDS.map((f) => [f, new Float64Array(n).fill(Number.NaN)])) as PredictionColumns['fields'];
    const tab = new TabularView(table, { columns, dtype: 'float64' });
    const seqLen = Number(m.model.viewParams.seqLen ?? 1);
    const win = m.model.view === 'window' ? new WindowView(table, { columns, seqLen, dtype: 'float64' }) : null;
    // Rows the model can answer: complete features (and a full window); the others stay NaN.
    const ok = new Set(Array.from(win === null ? tab.completeRows(rows) : win.validRows(tab.completeRows(rows))));
    const positions: number[] = [];
    for (let i = 0; i < n; i++) if (ok.has(rows[i]!)) positions.push(i);
    const f = columns.length;
    for (let s = 0; s < positions.length; s += batchSize) {
      const part = positions.slice(s, s + batchSize);
      const idx = part.map((i) => rows[i]!);
      const data = win === null ? tab.rows(idx).data : win.batch(idx).data;
      const dims = win === null ? [idx.length, f] : [idx.length, seqLen, f];
      const p = await this.score(data, dims);
      part.forEach((i, k) => this.contract(p[k]!, fields, i));
    }
    return { rows: Int32Array.from(rows), fields };
  }

  /**
   * Live rows: full feature vectors (the feature set's order), `columnIndex` picking the bundle's
   * columns. Tabular bundles only (a window model needs each symbol's recent rows, which the live
   * state does not keep yet). Same arithmetic as predictTable, so the same bits.
   */
  async predictVectors(vectors: readonly Float64Array[], columnIndex: Int32Array): Promise<Float64Array[]> {
    if (this.bundle.manifest.model.view !== 'tabular') throw new Error(`bundle ${this.bundle.dir}: ${this.bundle.manifest.model.view} models are not served live yet`);
    const f = columnIndex.length;
    const out = vectors.map(() => new Float64Array(PREDICTION_FIELDS.length).fill(Number.NaN));
    const complete: number[] = [];
    vectors.forEach((v, i) => {
      for (let j = 0; j < f; j++) if (Number.isNaN(v[columnIndex[j]!]!)) return;
      complete.push(i);
    });
    if (complete.length === 0) return out;
    const data = new Float64Array(complete.length * f);
    complete.forEach((i, k) => {
      for (let j = 0; j < f; j++) data[k * f + j] = vectors[i]![columnIndex[j]!]!;
    });
    const p = await this.score(data, [complete.length, f]);
    const fields = Object.fromEntries(PREDICTION_FIELDS.map((name) => [name, new Float64Array(complete.length).fill(Number.NaN)])) as PredictionColumns['fields'];
    complete.forEach((_, k) => this.contract(p[k]!, fields, k));
    complete.forEach((i, k) => PREDICTION_FIELDS.forEach((name, c) => (out[i]![c] = fields[name][k]!)));
    return out;
  }

  /**
   * Live windows (seqLen × the bundle's columns, oldest row first, raw float64), null where the
   * symbol's run is still too short. A window whose last row (the row predicted) misses a value
   * gets no prediction, as in predictTable.
   */
  async predictWindows(windows: readonly (Float64Array | null)[]): Promise<Float64Array[]> {
    const m = this.bundle.manifest;
    const seqLen = Number(m.model.viewParams.seqLen);
    const f = m.features.columns.length;
    const out = windows.map(() => new Float64Array(PREDICTION_FIELDS.length).fill(Number.NaN));
    const ok: number[] = [];
    windows.forEach((w, i) => {
      if (w === null) return;
      for (let j = 0; j < f; j++) if (Number.isNaN(w[(seqLen - 1) * f + j]!)) return;
      ok.push(i);
    });
    if (ok.length === 0) return out;
    const data = new Float64Array(ok.length * seqLen * f);
    ok.forEach((i, k) => data.set(windows[i]!, k * seqLen * f));
    const p = await this.score(data, [ok.length, seqLen, f]);
    const fields = Object.fromEntries(PREDICTION_FIELDS.map((name) => [name, new Float64Array(ok.length).fill(Number.NaN)])) as PredictionColumns['fields'];
    ok.forEach((_, k) => this.contract(p[k]!, fields, k));
    ok.forEach((i, k) => PREDICTION_FIELDS.forEach((name, c) => (out[i]![c] = fields[name][k]!)));
    return out;
  }

  /** Scales raw inputs (float64, in place) and runs the model on them as float32. */
  private score(data: Float64Array | Float32Array, dims: number[]): Promise<Float64Array> {
    const rows = dims.length === 3 ? dims[0]! * dims[1]! : dims[0]!;
    applyScaler(this.scaler, data, rows);
    return this.model(Float32Array.from(data), dims);
  }

  private contract(raw: number, fields: PredictionColumns['fields'], i: number): void {
    const q = calibrate(this.calibrator, raw);
    fields.p_up[i] = q;
    fields.e_r[i] = q * this.expectedReturn.up + (1 - q) * this.expectedReturn.notUp;
    fields.uncertainty[i] = 1 - Math.abs(2 * q - 1);
  }
}
