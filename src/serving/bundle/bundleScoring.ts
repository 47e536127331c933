import type { FeatureTable } from '../../training/featureTable.js';
import { baseFields, metaChoice } from '../../training/ensembles/metaLearner.js';
import type { Explanation, Scorer } from '../../training/models/modelRegistry.js';
import { type ScalerParams, scaleInto } from '../../training/models/scaler.js';
import type { ObjectiveSpec } from '../../training/objectives/objective.js';
import type { LiveRow, ModelView, ViewParams } from '../../training/views/modelView.js';
import type { WindowSpec } from '../live/recentRows.js';
import type { LoadedBundle } from './bundle.js';
import type { BundlePredictor } from './bundlePredictor.js';

/** Raw rows of the rows a model can answer: `answered` holds their positions in the request. */
export interface RawRows {
  answered: number[];
  raw: Float64Array;
}

/** Where a bundle's raw rows come from: its own model (and fold models), or its bases and meta-learner. */
export interface RawScoring {
  readonly width: number;
  readonly inputColumns: readonly string[];
  table(table: FeatureTable, rows: readonly number[], regime: Float64Array | null): Promise<RawRows>;
  bindLive(index: (column: string) => number): { window?: WindowSpec; raw(rows: readonly LiveRow[]): Promise<RawRows> };
}

interface Member {
  scorer: Scorer;
  scaler: ScalerParams;
}

/**
 * One model (and, for jackknife+, its fold models after it): every member scores the same
 * samples, each through its own scaler, and the raw row is their outputs side by side.
 */
export class ModelScoring implements RawScoring {
  readonly width: number;

  constructor(
    private readonly view: ModelView,
    private readonly params: ViewParams,
    readonly inputColumns: readonly string[],
    private readonly members: readonly Member[],
  ) {
    this.width = members.reduce((s, m) => s + m.scorer.outputs.length, 0);
  }

  async table(table: FeatureTable, rows: readonly number[]): Promise<RawRows> {
    const answered = this.answered(table, rows);
    if (answered.length === 0) return { answered, raw: new Float64Array(0) };
    const idx = answered.map((i) => rows[i]!);
    return { answered, raw: await this.score([this.view.samples(table, this.inputColumns, this.params, idx)], idx.length) };
  }

  bindLive(index: (column: string) => number): { window?: WindowSpec; raw(rows: readonly LiveRow[]): Promise<RawRows> } {
    const columnIndex = Int32Array.from(this.inputColumns, index);
    const window = this.view.liveWindow(this.params, columnIndex);
    return {
      ...(window === undefined ? {} : { window }),
      raw: async (rows) => {
        const samples: Float64Array[] = [];
        const answered: number[] = [];
        rows.forEach((r, i) => {
          const s = this.view.liveSample(r, columnIndex, this.params);
          if (s === null) return;
          samples.push(s);
          answered.push(i);
        });
        return { answered, raw: answered.length === 0 ? new Float64Array(0) : await this.score(samples, answered.length) };
      },
    };
  }

  /** The final model's inspection weights for the rows it can answer (Scorer.explain), or null when its kind has none. */
  async explain(table: FeatureTable, rows: readonly number[]): Promise<{ answered: number[]; explanation: Explanation } | null> {
    const m = this.members[0]!;
    if (m.scorer.explain === undefined) return null;
    const answered = this.answered(table, rows);
    const idx = answered.map((i) => rows[i]!);
    const f = this.inputColumns.length;
    const x = new Float32Array(idx.length * this.view.steps(this.params) * f);
    const samples = this.view.samples(table, this.inputColumns, this.params, idx);
    scaleInto(m.scaler, samples, samples.length / f, x, 0);
    return { answered, explanation: await m.scorer.explain(x, this.view.dims(idx.length, f, this.params)) };
  }

  /** The positions in `rows` of the rows the view can answer (their window is full and finite). */
  private answered(table: FeatureTable, rows: readonly number[]): number[] {
    const ok = new Set(Array.from(this.view.answerable(table, this.inputColumns, this.params, rows)));
    const answered: number[] = [];
    rows.forEach((r, i) => ok.has(r) && answered.push(i));
    return answered;
  }

  /** Scales raw samples (float64: one array per sample, or one holding them all) into float32 per member and scores them. */
  private async score(samples: readonly Float64Array[], n: number): Promise<Float64Array> {
    const f = this.inputColumns.length;
    const steps = this.view.steps(this.params);
    const x = new Float32Array(n * steps * f);
    const dims = this.view.dims(n, f, this.params);
    if (this.members.length === 1) return this.scaleAndScore(this.members[0]!, samples, x, dims);
    const out = new Float64Array(n * this.width);
    let col = 0;
    for (const m of this.members) {
      const w = m.scorer.outputs.length;
      const part = await this.scaleAndScore(m, samples, x, dims);
      for (let i = 0; i < n; i++) for (let j = 0; j < w; j++) out[i * this.width + col + j] = part[i * w + j]!;
      col += w;
    }
    return out;
  }

  private scaleAndScore(m: Member, samples: readonly Float64Array[], x: Float32Array, dims: number[]): Promise<Float64Array> {
    const f = this.inputColumns.length;
    let at = 0;
    for (const s of samples) {
      const rows = s.length / f;
      scaleInto(m.scaler, s, rows, x, at);
      at += rows * f;
    }
    return m.scorer.score(x, dims);
  }
}

/**
 * An ensemble: each base bundle predicts (through its own contract), the ensemble reads their
 * raw-like fields (baseFields) and, when it was trained with them, the regime's state
 * probabilities, and its meta-learner turns them into the ensemble's raw row. A row is answered
 * when every base answers it.
 */
export class EnsembleScoring implements RawScoring {
  readonly width: number;
  readonly inputColumns: readonly string[];
  private readonly picks: Int32Array[];
  private readonly stride: number;

  private constructor(
    private readonly bases: readonly BundlePredictor[],
    private readonly meta: Scorer,
    private readonly scaler: ScalerParams,
    private readonly fill: (values: Float64Array, regime: Float64Array | null, out: Float64Array, at: number) => void,
    private readonly states: number,
    spec: ObjectiveSpec,
  ) {
    const fields = baseFields(spec);
    this.picks = bases.map((b) => Int32Array.from(fields, (f) => b.fields.indexOf(f)));
    this.stride = scaler.columns.length;
    this.width = meta.outputs.length;
    this.inputColumns = [...new Set(bases.flatMap((b) => b.inputColumns))];
  }

  static async load(bundle: LoadedBundle, spec: ObjectiveSpec, bases: BundlePredictor[]): Promise<EnsembleScoring> {
    const e = bundle.manifest.ensemble!;
    const m = bundle.manifest.model;
    const fields = baseFields(spec);
    bases.forEach((b, k) => {
      const missing = fields.filter((f) => !b.declared.includes(f));
      if (missing.length > 0) throw new Error(`bundle ${bundle.dir}: base ${e.bases[k]!.dir} does not give ${missing.join(', ')}`);
    });
    const choice = metaChoice({ form: e.form, meta: e.meta, bases: bases.length, states: e.states }, spec);
    if (choice.columns.join() !== e.inputs.join()) throw new Error(`bundle ${bundle.dir}: its meta-learner reads ${e.inputs.join(', ')}, this barflow builds ${choice.columns.join(', ')}`);
    const files = new Map(m.files.map((f) => [f.slice('meta/'.length), bundle.file(f)]));
    const meta = choice.wrap(await choice.kind.load({ format: m.format, files }, choice.kindSpec));
    return new EnsembleScoring(bases, meta, bundle.json<ScalerParams>(bundle.manifest.scaler), choice.inputs, e.states, spec);
  }

  async table(table: FeatureTable, rows: readonly number[], regime: Float64Array | null): Promise<RawRows> {
    const preds = await Promise.all(this.bases.map((b) => b.predictTable(table, rows)));
    const cols = preds.map((p, b) => Array.from(this.picks[b]!, (j) => p.fields[this.bases[b]!.fields[j]!]!));
    return this.combine(rows.length, (i, values) => {
      let at = 0;
      for (const c of cols) for (const col of c) values[at++] = col[i]!;
    }, (i) => (regime === null ? null : regime.subarray(rows[i]! * this.states, (rows[i]! + 1) * this.states)));
  }

  bindLive(index: (column: string) => number): { window?: WindowSpec; raw(rows: readonly LiveRow[]): Promise<RawRows> } {
    const bound = this.bases.map((b) => b.bindLiveBy(index));
    const windows = bound.map((b) => b.window).filter((w): w is WindowSpec => w !== undefined);
    const sig = (w: WindowSpec) => `${w.length}:${w.columns.join(',')}`;
    if (new Set(windows.map(sig)).size > 1) throw new Error('the ensemble\'s window bases read different windows (length or columns): serve bases with one window shape');
    return {
      ...(windows.length === 0 ? {} : { window: windows[0]! }),
      raw: async (rows) => {
        const preds = await Promise.all(bound.map((b) => b.predict(rows)));
        return this.combine(rows.length, (i, values) => {
          let at = 0;
          preds.forEach((p, b) => {
            for (const j of this.picks[b]!) values[at++] = p[i]![j]!;
          });
        }, (i) => rows[i]!.regime ?? null);
      },
    };
  }

  private async combine(n: number, read: (i: number, values: Float64Array) => void, regimeOf: (i: number) => Float64Array | null): Promise<RawRows> {
    const values = new Float64Array(this.picks.reduce((s, p) => s + p.length, 0));
    const inputs = new Float64Array(n * this.stride);
    const answered: number[] = [];
    for (let i = 0; i < n; i++) {
      read(i, values);
      const regime = this.states > 0 ? regimeOf(i) : null;
      if (values.some(Number.isNaN) || (this.states > 0 && (regime === null || regime.some(Number.isNaN)))) continue;
      this.fill(values, regime, inputs, answered.length * this.stride);
      answered.push(i);
    }
    if (answered.length === 0) return { answered, raw: new Float64Array(0) };
    const x = new Float32Array(answered.length * this.stride);
    scaleInto(this.scaler, inputs.subarray(0, answered.length * this.stride), answered.length, x);
    return { answered, raw: await this.meta.score(x, [answered.length, this.stride]) };
  }
}
