/**
 * A trained neural net as TensorFlow.js holds it: predict, save to the layers format (model.json +
 * weights.bin, the same bytes for the same model), load back from those files, refusing anything
 * but the layer classes its net is built from.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { OBJECTIVES, type ObjectiveSpec } from '../../objectives/objective.js';
import type { History } from './checkpoint.js';
import type { NeuralNet } from './net.js';

export const MODEL_FILE = 'model.json';
export const WEIGHTS_FILE = 'weights.bin';
const PREDICT_CHUNK = 512;

export interface NeuralMetadata {
  /** The net's id ('barflow-lstm'). */
  kind: string;
  /** One row's shape without the batch axis. */
  inputShape: number[];
  params: Record<string, unknown>;
  objective: ObjectiveSpec;
  seed: number;
  /** Epochs completed (the one early stopping stopped at, when it did). */
  epochs: number;
  /** The epoch whose weights the model holds when early stopping chose them; null otherwise. */
  bestEpoch: number | null;
  /** The tf backend that trained it (results are reproducible on that backend only). */
  backend: string;
  /** The caller's labels (model name, version, feature schema hash). */
  metadata: Record<string, string>;
}

const ObjectiveSchema = z.object({ objective: z.enum(OBJECTIVES), quantiles: z.array(z.number()) });
const MetadataSchema = z.union([
  z.object({
    kind: z.string(),
    inputShape: z.array(z.number().int().positive()).min(1),
    params: z.record(z.string(), z.unknown()),
    objective: ObjectiveSchema,
    seed: z.number().int(),
    epochs: z.number().int().nonnegative(),
    bestEpoch: z.number().int().positive().nullable(),
    backend: z.string(),
    metadata: z.record(z.string(), z.string()),
  }),
  // LSTM models saved before the neural base: binary, window input, no early stopping.
  z
    .object({
      kind: z.literal('barflow-lstm'),
      seqLen: z.number().int().positive(),
      features: z.number().int().positive(),
      params: z.record(z.string(), z.unknown()),
      seed: z.number().int(),
      epochs: z.number().int().nonnegative(),
      backend: z.string(),
    })
    .transform(
      (m): NeuralMetadata => ({
        kind: m.kind,
        inputShape: [m.seqLen, m.features],
        params: m.params,
        objective: { objective: 'binary', quantiles: [] },
        seed: m.seed,
        epochs: m.epochs,
        bestEpoch: null,
        backend: m.backend,
        metadata: {},
      }),
    ),
]);

export class NeuralModel {
  constructor(
    private readonly model: tf.LayersModel,
    readonly meta: NeuralMetadata,
    /** Per completed epoch (empty for a loaded model). */
    readonly history: History = { trainLoss: [], watchLoss: [] },
    /** Epoch the run resumed after (0: started fresh). */
    readonly resumedFrom = 0,
  ) {}

  get epochs(): number {
    return this.meta.epochs;
  }

  /** Output columns per row: the head's units. */
  get outputs(): number {
    return this.model.outputs[0]!.shape.at(-1)!;
  }

  /** The tf model itself (for exporters); still owned by this object. */
  get layersModel(): tf.LayersModel {
    return this.model;
  }

  /** Row-major n × outputs; x is n × inputShape, scaled, float32. */
  predict(x: Float32Array, n: number): Float32Array {
    const shape = this.meta.inputShape;
    const row = shape.reduce((a, d) => a * d, 1);
    if (x.length !== n * row) throw new Error(`x has ${x.length} values, expected ${n * row} (${n} rows of [${shape.join(', ')}])`);
    const k = this.outputs;
    const out = new Float32Array(n * k);
    for (let s = 0; s < n; s += PREDICT_CHUNK) {
      const b = Math.min(PREDICT_CHUNK, n - s);
      tf.tidy(() => {
        const p = this.model.predict(tf.tensor(x.slice(s * row, (s + b) * row), [b, ...shape])) as tf.Tensor;
        out.set(p.dataSync(), s * k);
      });
    }
    return out;
  }

  /** TensorFlow.js layers format: `model.json` + `weights.bin`, the same bytes for the same model. */
  async save(): Promise<Map<string, Uint8Array>> {
    this.model.setUserDefinedMetadata({ barflow: this.meta });
    let files: Map<string, Uint8Array> | undefined;
    await this.model.save(
      tf.io.withSaveHandler(async (a) => {
        const json = {
          modelTopology: a.modelTopology,
          format: a.format,
          generatedBy: a.generatedBy,
          convertedBy: a.convertedBy,
          weightsManifest: [{ paths: [WEIGHTS_FILE], weights: a.weightSpecs }],
          userDefinedMetadata: a.userDefinedMetadata,
        };
        const weights = a.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(a.weightData);
        files = new Map([
          [MODEL_FILE, new TextEncoder().encode(JSON.stringify(json))],
          [WEIGHTS_FILE, new Uint8Array(weights)],
        ]);
        return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) };
      }),
    );
    return files!;
  }

  dispose(): void {
    this.model.dispose();
  }
}

const ModelJsonSchema = z.looseObject({
  format: z.literal('layers-model'),
  modelTopology: z.looseObject({ class_name: z.enum(['Sequential', 'Model']), config: z.looseObject({ layers: z.array(z.looseObject({ class_name: z.string() })) }) }),
  weightsManifest: z.array(z.object({ paths: z.array(z.string()), weights: z.array(z.looseObject({ name: z.string(), shape: z.array(z.number().int().nonnegative()), dtype: z.literal('float32') })) })),
  userDefinedMetadata: z.object({ barflow: MetadataSchema }),
});

type ModelJson = z.infer<typeof ModelJsonSchema>;

/** model.json parsed and checked against `net` (its kind, its layer classes), without building the model. */
function readModelJson(files: Map<string, Uint8Array>, net: NeuralNet): { json: ModelJson; meta: NeuralMetadata } {
  const what = `${net.label} model`;
  const text = files.get(MODEL_FILE);
  if (text === undefined) throw new Error(`${what}: no ${MODEL_FILE} among ${[...files.keys()].join(', ')}`);
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(text));
  } catch (e) {
    throw new Error(`${what}: ${MODEL_FILE} is not JSON: ${(e as Error).message}`);
  }
  const parsed = ModelJsonSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`${what}: ${MODEL_FILE} is not a barflow ${net.label}: ${z.prettifyError(parsed.error)}`);
  const json = parsed.data;
  const meta = json.userDefinedMetadata.barflow;
  if (meta.kind !== net.id) throw new Error(`${what}: ${MODEL_FILE} holds a ${meta.kind}, not a ${net.id}`);
  // A graph model (neural/net.ts `graph`) lists its input layer among its layers.
  const allowed = new Set([...net.layerClasses, ...(json.modelTopology.class_name === 'Model' ? ['InputLayer'] : [])]);
  const bad = json.modelTopology.config.layers.map((l) => l.class_name).filter((c) => !allowed.has(c));
  if (bad.length > 0) throw new Error(`${what}: layer classes ${bad.join(', ')} are not allowed (only ${[...allowed].join(', ')})`);
  return { json, meta };
}

/** What a saved model says about itself (objective, input shape, backend…), checked, not built. */
export function readNeuralMetadata(files: Map<string, Uint8Array>, net: NeuralNet): NeuralMetadata {
  return readModelJson(files, net).meta;
}

/** Reads what `save()` wrote for `net`; refuses anything but the layers that net is built from. */
export async function loadNeural(files: Map<string, Uint8Array>, net: NeuralNet): Promise<NeuralModel> {
  const what = `${net.label} model`;
  const { json, meta } = readModelJson(files, net);
  const specs = json.weightsManifest.flatMap((g) => g.weights);
  const parts = json.weightsManifest.flatMap((g) =>
    g.paths.map((p) => {
      const bytes = files.get(p);
      if (bytes === undefined) throw new Error(`${what}: weights file ${p} is missing`);
      return bytes;
    }),
  );
  const total = parts.reduce((s, p) => s + p.byteLength, 0);
  const expected = specs.reduce((s, w) => s + 4 * w.shape.reduce((a, d) => a * d, 1), 0);
  if (total !== expected) throw new Error(`${what}: weights hold ${total} bytes, the manifest says ${expected}`);
  const data = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.byteLength;
  }
  const artifacts = { modelTopology: json.modelTopology, weightSpecs: specs as tf.io.WeightsManifestEntry[], weightData: data.buffer, format: json.format, generatedBy: json['generatedBy'] as string, convertedBy: null };
  const model = (await tf.loadLayersModel(tf.io.fromMemory(artifacts))) as tf.LayersModel;
  const shape = model.inputs[0]!.shape.slice(1);
  if (shape.length !== meta.inputShape.length || shape.some((d, i) => d !== meta.inputShape[i])) {
    model.dispose();
    throw new Error(`${what}: input shape [${shape.join(', ')}] does not match its metadata [${meta.inputShape.join(', ')}]`);
  }
  return new NeuralModel(model, meta);
}
