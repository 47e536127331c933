import { z } from 'zod';
import { INTERVAL_METHODS, OBJECTIVES } from '../../training/objectives/objective.js';

/**
 * `manifest.json` of a model bundle: a folder of data only (nothing in it is executed as code).
 * Every file is listed with its sha256; loading checks them all and the feature schema hash before
 * a single prediction is made.
 */
export const BUNDLE_FORMAT = 'barflow.bundle';

const Sha = z.string().regex(/^[0-9a-f]{64}$/);

const Features = z
  .object({
    /** The feature-set file the dataset was computed with, copied into the bundle. */
    file: z.string(),
    schemaHash: z.string(),
    /** The columns the model reads, in its input order. */
    columns: z.array(z.string()).min(1),
    /**
     * The role of each input column, from the dataset's manifest: a bundle whose roles hold
     * no `level` reads no price or volume level. Absent when the dataset recorded no roles
     * (replayed before they existed; such a dataset trains only on named columns) and in
     * older bundles.
     */
    roles: z.record(z.string(), z.enum(['level', 'stationary'])).optional(),
  })
  .superRefine((f, ctx) => {
    if (f.roles === undefined) return;
    const keys = Object.keys(f.roles);
    if (keys.length !== f.columns.length || f.columns.some((c) => !Object.hasOwn(f.roles!, c))) ctx.addIssue({ code: 'custom', path: ['roles'], message: 'roles must name exactly the input columns' });
  });

const Training = z.object({
  config: z.string(),
  configSha256: Sha,
  seed: z.number().int(),
  dataset: z.object({ dir: z.string(), fingerprint: Sha }),
  labels: z.object({ set: z.string(), target: z.string(), sha256: Sha }),
  code: z.object({ package: z.literal('barflow'), version: z.string(), gitCommit: z.string().nullable() }),
});

const Family = z.enum(['linear', 'tree', 'neural', 'ensemble']);
const ViewNameSchema = z.enum(['tabular', 'window', 'multi_resolution']);

const common = {
  format: z.literal(BUNDLE_FORMAT),
  name: z.string().regex(/^[A-Za-z0-9_.-]+$/),
  version: z.string().regex(/^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/, 'a semantic version, e.g. 1.0.0'),
  features: Features,
  scaler: z.string(),
  /** The output contract's parameters (objectives/outputContract.ts): calibrator, expected returns. */
  calibrator: z.string(),
  metrics: z.string(),
  training: Training,
  /** sha256 of every other file in the bundle, by relative path. */
  files: z.record(z.string(), Sha),
};

/**
 * Format 2: the model names its objective, the fields it declares (`outputs`: what every
 * prediction carries; the contract's other fields are null), the raw columns its scorer gives,
 * its view as an object, and the exporter that wrote its files.
 */
const BundleManifestV2 = z
  .object({
    ...common,
    formatVersion: z.literal(2),
    model: z
      .object({
        kind: z.string(),
        family: Family,
        causal: z.boolean(),
        format: z.enum(['onnx', 'tfjs', 'json']),
        /** The model files, relative to the bundle (model/model.onnx; or model.json + weights for tfjs; an ensemble's meta-learner under meta/). */
        files: z.array(z.string()).min(1),
        view: z.object({ name: ViewNameSchema, params: z.record(z.string(), z.unknown()) }).strict(),
        objective: z.enum(OBJECTIVES),
        /** Quantile levels (objective quantile), else empty. */
        quantiles: z.array(z.number()),
        /** The conformal interval (config `conformal`): its method and coverage; jackknife_plus also the fold models. */
        interval: z.object({ method: z.enum(INTERVAL_METHODS), coverage: z.number().gt(0).lt(1), folds: z.number().int().positive().optional(), gamma: z.number().gt(0).lt(1).optional() }).strict().optional(),
        /** jackknife_plus: the fold models, each with its own scaler, scored after the final model. */
        members: z.array(z.object({ files: z.array(z.string()).min(1), scaler: z.string() }).strict()).optional(),
        outputs: z.array(z.string()).min(1),
        rawOutputs: z.array(z.string()).min(1),
        exporter: z.object({ package: z.literal('barflow'), version: z.string() }).strict(),
      })
      .strict(),
    /** The regime filter (config `regime`): regime_score in every prediction. */
    regime: z.object({ method: z.literal('hmm'), file: z.string(), columns: z.array(z.string()).min(1), states: z.number().int().min(2) }).strict().optional(),
    /** An ensemble: its base bundles (each a complete bundle in its folder, checksummed here too) and how they are combined. */
    ensemble: z
      .object({
        form: z.enum(['stacking', 'voting']),
        meta: z.object({ kind: z.string(), params: z.record(z.string(), z.unknown()) }).strict(),
        bases: z.array(z.object({ dir: z.string(), kind: z.string(), view: z.string() }).strict()).min(1),
        states: z.number().int().min(0),
        inputs: z.array(z.string()).min(1),
      })
      .strict()
      .optional(),
  })
  .strict();

/** Format 1 (binary P(up) models before the objectives): read and presented as format 2. */
const BundleManifestV1 = z
  .object({
    ...common,
    formatVersion: z.literal(1),
    model: z.object({
      kind: z.string(),
      family: Family,
      view: ViewNameSchema,
      causal: z.boolean(),
      format: z.enum(['onnx', 'tfjs']),
      files: z.array(z.string()).min(1),
      viewParams: z.record(z.string(), z.unknown()).default({}),
      outputs: z.array(z.string()),
    }),
  })
  .strict()
  .transform((m): z.infer<typeof BundleManifestV2> => {
    const { viewParams, view, outputs: _outputs, ...model } = m.model;
    return {
      ...m,
      formatVersion: 2,
      model: { ...model, view: { name: view, params: viewParams }, objective: 'binary', quantiles: [], outputs: ['p_up', 'e_r', 'uncertainty'], rawOutputs: ['p_up'], exporter: { package: 'barflow', version: m.training.code.version } },
    };
  });

/** What writeBundle writes: always the current format. */
export const BundleManifestSchema = BundleManifestV2;

/** The schema of a manifest as read: by its formatVersion, so errors speak of the right format. */
export function manifestSchemaFor(doc: unknown): typeof BundleManifestV2 | typeof BundleManifestV1 {
  return (doc as { formatVersion?: unknown } | null)?.formatVersion === 1 ? BundleManifestV1 : BundleManifestV2;
}

export type BundleManifest = z.infer<typeof BundleManifestV2>;
