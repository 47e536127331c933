/**
 * A neural kind's two ends of the ModelKind contract (modelRegistry.ts), shared by every net:
 * `trainNeuralKind` turns TrainInput into the trained model's artifact, `neuralScorer` turns an
 * artifact back into a Scorer.
 *
 * The artifact holds `model.onnx` (tfjsToOnnx, the format serving runs) first, then the
 * TensorFlow.js files (model.json + weights.bin: the exact trained weights, for resuming analysis
 * in tf and for reading the training metadata). An artifact of format 'tfjs' (bundles saved before
 * the ONNX export) still loads, through TensorFlow.js on the backend that trained it.
 */
import * as tf from '@tensorflow/tfjs';
import type * as ort from 'onnxruntime-node';
import { openOnnxSession, runOnnx } from '../../../serving/onnx/onnxSession.js';
import { type ObjectiveSpec, rawOutputs } from '../../objectives/objective.js';
import type { Artifact, Scorer, TrainInput } from '../modelRegistry.js';
import { TargetScaledLayer } from './layers/outputHeads.js';
import type { NeuralNet, TrainingParams } from './net.js';
import { type NeuralModel, loadNeural, readNeuralMetadata } from './neuralModel.js';
import { selectBackend } from './tfBackend.js';
import { tfjsToOnnx } from './tfjsOnnx.js';
import { trainNet } from './trainLoop.js';

export const ONNX_FILE = 'model.onnx';

/** Trains `net` on a TrainInput (see trainLoop.ts) and returns its artifact; the tf model is freed. */
export async function trainNeuralKind<P extends TrainingParams>(net: NeuralNet<P>, input: TrainInput, params: P): Promise<Artifact> {
  const scale = targetScale(input.objective, input.y);
  const standardise = (y: Float32Array) => (scale === null ? y : Float32Array.from(y, (v) => (v - scale.mean) / scale.std));
  const w = input.watch === undefined ? undefined : { ...input.watch, y: standardise(input.watch.y) };
  const model = await trainNet({
    net,
    x: input.x,
    dims: input.dims,
    y: standardise(input.y),
    objective: input.objective,
    watch: w === undefined ? undefined : { x: w.x, dims: w.dims, y: w.y },
    params,
    seed: input.seed,
    checkpoint: input.checkpointDir === undefined ? undefined : { dir: input.checkpointDir },
    metadata: input.metadata,
    onEpoch: (r) => input.onProgress?.({ step: r.epoch, steps: r.epochs, loss: r.trainLoss, watchLoss: r.watchLoss }),
  });
  try {
    if (scale !== null) unscaleHead(model, scale);
    return await neuralArtifact(model, input.metadata);
  } finally {
    model.dispose();
  }
}

/**
 * Returns are ~1e-3 a minute: a linear head that starts at the scale of its initial weights (~0.1)
 * spends its few epochs shrinking rather than learning (an LSTM quantile model's intervals came out
 * 40 times too wide). So regression and quantile nets learn the standardised target, and the
 * trained head's affine map is folded back into its weights (kernel·σ, bias·σ + μ): the artifact
 * predicts returns, in TensorFlow.js and ONNX alike, with nothing extra to serve.
 */
function targetScale(spec: ObjectiveSpec, y: Float32Array): { mean: number; std: number } | null {
  if (spec.objective !== 'regression' && spec.objective !== 'quantile') return null;
  let s = 0;
  for (const v of y) s += v;
  const mean = s / y.length;
  let ss = 0;
  for (const v of y) ss += (v - mean) ** 2;
  const std = Math.sqrt(ss / y.length);
  return std > 0 && Number.isFinite(std) ? { mean, std } : null;
}

function unscaleHead(model: NeuralModel, scale: { mean: number; std: number }): void {
  const scaled = model.layersModel.layers.find((l): l is TargetScaledLayer => l instanceof TargetScaledLayer);
  if (scaled !== undefined) {
    scaled.setTargetScale(scale.mean, scale.std);
    return;
  }
  const head = model.layersModel.getLayer('logit');
  const [kernel, bias] = head.getWeights();
  const k = Float32Array.from(kernel!.dataSync(), (v) => v * scale.std);
  const b = Float32Array.from(bias!.dataSync(), (v) => v * scale.std + scale.mean);
  const weights = [tf.tensor(k, kernel!.shape), tf.tensor(b, bias!.shape)];
  head.setWeights(weights);
  for (const t of weights) t.dispose();
}

/** The files of a trained model, the same bytes for the same model. */
export async function neuralArtifact(model: NeuralModel, metadata: Record<string, string>): Promise<Artifact> {
  const tfjsFiles = await model.save();
  const inputShape = model.meta.inputShape as [number, number] | [number];
  const onnx = tfjsToOnnx(model.layersModel, { metadata, inputShape });
  // model.onnx first: a bundle's manifest runs files[0] when its format is 'onnx'.
  return { format: 'onnx', files: new Map([[ONNX_FILE, onnx], ...tfjsFiles]) };
}

/** A Scorer over an artifact of `net`; refuses one trained for another objective. */
export async function neuralScorer(net: NeuralNet, artifact: Artifact, objective: ObjectiveSpec): Promise<Scorer> {
  const outputs = rawOutputs(objective);
  const meta = readNeuralMetadata(artifact.files, net);
  const trained = rawOutputs(meta.objective);
  if (meta.objective.objective !== objective.objective || trained.join() !== outputs.join()) {
    throw new Error(`${net.label} artifact: trained for ${meta.objective.objective} (${trained.join(', ')}), asked to score ${objective.objective} (${outputs.join(', ')})`);
  }
  const rowShape = meta.inputShape;
  const checkDims = (x: Float32Array, dims: number[]): number => {
    if (dims.length !== rowShape.length + 1 || dims.slice(1).some((d, i) => d !== rowShape[i])) throw new Error(`${net.label} scorer: dims [${dims.join(', ')}], the model takes [n, ${rowShape.join(', ')}]`);
    const size = dims.reduce((a, d) => a * d, 1);
    if (x.length < size) throw new Error(`${net.label} scorer: x has ${x.length} values, dims [${dims.join(', ')}] need ${size}`);
    return dims[0]!;
  };
  if (artifact.format === 'onnx') {
    const bytes = artifact.files.get(ONNX_FILE);
    if (bytes === undefined) throw new Error(`${net.label} artifact: format onnx but no ${ONNX_FILE} among ${[...artifact.files.keys()].join(', ')}`);
    const session: ort.InferenceSession = await openOnnxSession(bytes);
    return {
      outputs,
      score: async (x, dims) => {
        checkDims(x, dims);
        return runOnnx(session, x, dims);
      },
    };
  }
  // A TensorFlow.js model reproduces its bits only on the backend that trained it.
  const on = meta.backend;
  await selectBackend(on === 'wasm' || on === 'cpu' ? on : on === 'tensorflow' ? 'node' : 'auto');
  const tfModel = await loadNeural(artifact.files, net);
  return {
    outputs,
    score: async (x, dims) => {
      const n = checkDims(x, dims);
      return Float64Array.from(tfModel.predict(x.subarray(0, n * rowShape.reduce((a, d) => a * d, 1)), n));
    },
  };
}
