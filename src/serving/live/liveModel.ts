import type { FeatureSet } from '../../operators/featureSet.js';
import { PREDICTION_FIELDS, type Predictor } from '../predictor.js';
import type { LiveRow } from '../../training/views/modelView.js';
import type { LiveRegime } from '../bundle/bundlePredictor.js';
import type { WindowSpec } from './recentRows.js';

export type { LiveRow };

/** A model as the live outputs call it: a batch of rows in, one array of `fields` values per row out. */
export interface RowPredictor {
  readonly name: string;
  readonly version: string;
  /** The fields of its predictions, in message order (predictionFields: the contract's, then its own). */
  readonly fields: readonly string[];
  /** Index in `fields` of the field whose NaN means "no prediction" (warm-up): the first it declares. */
  readonly lead: number;
  /** The window it reads (window models), to be kept per symbol in the live state. */
  readonly window?: WindowSpec;
  /** The regime filter it reads (bundles trained with a regime), kept per symbol in the live state. */
  readonly regime?: LiveRegime;
  predictRows(rows: readonly LiveRow[]): Promise<Float64Array[]>;
}

/** The built-in synchronous predictors (drift) behind the batch interface. */
export function syncRows(p: Predictor): RowPredictor {
  return {
    name: p.name,
    version: p.version,
    fields: PREDICTION_FIELDS,
    lead: 0,
    predictRows: async (rows) =>
      rows.map((r) => {
        const out = new Float64Array(PREDICTION_FIELDS.length);
        p.predict(r.values, out);
        return out;
      }),
  };
}

/** A trained bundle, checked against the live feature set before the first message; its view says what the live state keeps. */
export async function bundleRows(dir: string, featureSet: FeatureSet): Promise<RowPredictor> {
  // onnxruntime-node loads only when a bundle is served.
  const { BundlePredictor } = await import('../bundle/bundlePredictor.js');
  const b = await BundlePredictor.open(dir, featureSet.schemaHash);
  const live = b.bindLive(featureSet.columns.map((c) => c.name), `feature set ${featureSet.name}`);
  return {
    name: b.name,
    version: b.version,
    fields: b.fields,
    lead: b.fields.indexOf(b.declared[0]!),
    ...(live.window === undefined ? {} : { window: live.window }),
    ...(live.regime === undefined ? {} : { regime: live.regime }),
    predictRows: (rows) => live.predict(rows),
  };
}

export type FallbackReason = 'error' | 'non_finite';

/**
 * The primary model with an optional fallback: the fallback answers the whole batch when the
 * primary throws, and a row when the primary's lead field (p_up, e_r…) is not finite but the fallback's is (rows both
 * leave empty are warm-up rows, published from the primary as they are).
 */
export class LiveModel {
  constructor(
    readonly primary: RowPredictor,
    readonly fallback: RowPredictor | null,
    private readonly onFallback: (reason: FallbackReason, rows: number) => void,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** The window the served models read, if one is a window model (at most one shape is allowed). */
  get window(): WindowSpec | undefined {
    const p = this.primary.window;
    const f = this.fallback?.window;
    if (p !== undefined && f !== undefined && (p.length !== f.length || p.columns.join() !== f.columns.join())) {
      throw new Error(`the primary and the fallback read different windows (${p.length} × ${p.columns.length} and ${f.length} × ${f.columns.length}): serve at most one window shape`);
    }
    return p ?? f;
  }

  /** The regime filter the served models read (at most one: the fallback's must be the primary's or absent). */
  get regime(): LiveRegime | undefined {
    const p = this.primary.regime;
    const f = this.fallback?.regime;
    if (p !== undefined && f !== undefined && JSON.stringify(p.doc) !== JSON.stringify(f.doc)) throw new Error('the primary and the fallback have different regime filters: serve at most one');
    return p ?? f;
  }

  async predict(rows: readonly LiveRow[]): Promise<{ by: RowPredictor; out: Float64Array }[]> {
    let primary: Float64Array[];
    try {
      primary = await this.primary.predictRows(rows);
    } catch (err) {
      if (this.fallback === null) throw err;
      this.onError(err);
      const out = await this.fallback.predictRows(rows);
      this.onFallback('error', rows.length);
      return out.map((o) => ({ by: this.fallback!, out: o }));
    }
    const result = primary.map((o) => ({ by: this.primary, out: o }));
    if (this.fallback === null) return result;
    // A row the primary left empty: its first declared field is not finite.
    const missing = result.map((r, i) => (Number.isFinite(r.out[this.primary.lead]!) ? -1 : i)).filter((i) => i >= 0);
    if (missing.length === 0) return result;
    const alt = await this.fallback.predictRows(missing.map((i) => rows[i]!));
    let used = 0;
    missing.forEach((i, k) => {
      if (!Number.isFinite(alt[k]![this.fallback!.lead]!)) return;
      result[i] = { by: this.fallback!, out: alt[k]! };
      used++;
    });
    if (used > 0) this.onFallback('non_finite', used);
    return result;
  }
}
