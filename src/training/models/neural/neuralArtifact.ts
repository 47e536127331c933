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
import type * as ort from 'onnxruntime-node';
import { openOnnxSession, runOnnx } from '../../../serving/onnx/onnxSession.js';
import { type ObjectiveSpec, rawOutputs } from '../../objectives/objective.js';
import type { Artifact, Scorer, TrainInput } from '../modelRegistry.js';
import type { NeuralNet, TrainingParams } from './net.js';
import { type NeuralModel, loadNeural, readNeuralMetadata } from './neuralModel.js';
import { selectBackend } from './tfBackend.js';
import { tfjsToOnnx } from './tfjsOnnx.js';
import { trainNet } from './trainLoop.js';

export const ONNX_FILE = 'model.onnx';

/** Trains `net` on a TrainInput (see trainLoop.ts) and returns its artifact; the tf model is freed. */
export async function trainNeuralKind<P extends TrainingParams>(net: NeuralNet<P>, input: TrainInput, params: P): Promise<Artifact> {
  const w = input.watch;
  const model = await trainNet({
    net,
    x: input.x,
    dims: input.dims,
    y: input.y,
    objective: input.objective,
    watch: w === undefined ? undefined : { x: w.x, dims: w.dims, y: w.y },
    params,
    seed: input.seed,
    checkpoint: input.checkpointDir === undefined ? undefined : { dir: input.checkpointDir },
    metadata: input.metadata,
    onEpoch: (r) => input.onProgress?.({ step: r.epoch, steps: r.epochs, loss: r.trainLoss, watchLoss: r.watchLoss }),
  });
  try {
    return await neuralArtifact(model, input.metadata);
  } finally {
    model.dispose();
  }
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
