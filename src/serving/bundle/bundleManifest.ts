import { z } from 'zod';

/**
 * `manifest.json` of a model bundle: a folder of data only (nothing in it is executed as code).
 * Every file is listed with its sha256; loading checks them all and the feature schema hash before
 * a single prediction is made.
 */
export const BUNDLE_FORMAT = 'barflow.bundle';

const Sha = z.string().regex(/^[0-9a-f]{64}$/);

export const BundleManifestSchema = z
  .object({
    format: z.literal(BUNDLE_FORMAT),
    formatVersion: z.literal(1),
    name: z.string().regex(/^[A-Za-z0-9_.-]+$/),
    version: z.string().regex(/^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/, 'a semantic version, e.g. 1.0.0'),
    model: z.object({
      kind: z.string(),
      family: z.enum(['linear', 'tree', 'neural']),
      view: z.enum(['tabular', 'window', 'multi_resolution']),
      causal: z.boolean(),
      format: z.enum(['onnx', 'tfjs']),
      /** The model files, relative to the bundle (model.onnx; or model.json + weights for tfjs). */
      files: z.array(z.string()).min(1),
      /** View parameters (window length…). */
      viewParams: z.record(z.string(), z.unknown()).default({}),
      outputs: z.array(z.string()),
    }),
    features: z
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
      }),
    scaler: z.string(),
    calibrator: z.string(),
    metrics: z.string(),
    training: z.object({
      config: z.string(),
      configSha256: Sha,
      seed: z.number().int(),
      dataset: z.object({ dir: z.string(), fingerprint: Sha }),
      labels: z.object({ set: z.string(), target: z.string(), sha256: Sha }),
      code: z.object({ package: z.literal('barflow'), version: z.string(), gitCommit: z.string().nullable() }),
    }),
    /** sha256 of every other file in the bundle, by relative path. */
    files: z.record(z.string(), Sha),
  })
  .strict();

export type BundleManifest = z.infer<typeof BundleManifestSchema>;
