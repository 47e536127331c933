/**
 * The LSTM's direct API, kept for its callers (bundlePredictor, tests): training is the shared
 * neural trainer (neural/trainLoop.ts) with the LSTM net (lstmNet.ts); the objective defaults to
 * binary (p_up), which trains exactly the model this module trained before the neural base existed.
 */
import type { ObjectiveSpec } from '../../objectives/objective.js';
import type { BackendPreference } from '../neural/tfBackend.js';
import { type NeuralModel, loadNeural } from '../neural/neuralModel.js';
import { trainNet } from '../neural/trainLoop.js';
import { type LstmParams, lstmNet } from './lstmNet.js';

export { LstmParamsSchema, type LstmParams } from './lstmNet.js';
export { MODEL_FILE, WEIGHTS_FILE } from '../neural/neuralModel.js';
export type LstmModel = NeuralModel;

export interface LstmTrainOptions {
  /** Windows, row-major n × seqLen × f, scaled, no NaN (impute before). */
  x: Float32Array;
  n: number;
  seqLen: number;
  f: number;
  /** One target per window (binary: 0/1). */
  y: Float32Array;
  /** Watch rows: their loss is reported each epoch and drives early stopping (`patience`). */
  validation?: { x: Float32Array; n: number; y: Float32Array };
  objective?: ObjectiveSpec;
  params: LstmParams;
  /** Integer in [0, 2³²). */
  seed: number;
  checkpoint?: { dir: string };
  backend?: BackendPreference;
  stopAfterEpoch?: number;
  metadata?: Record<string, string>;
  /** After each epoch, once it is checkpointed; secondsPerEpoch averages the epochs of this call. */
  onEpoch?: (epoch: number, epochs: number, trainLoss: number, validLoss: number | undefined, secondsPerEpoch: number, etaSeconds: number) => void;
}

export function trainLstm(o: LstmTrainOptions): Promise<LstmModel> {
  const v = o.validation;
  return trainNet({
    net: lstmNet,
    x: o.x,
    dims: [o.n, o.seqLen, o.f],
    y: o.y,
    watch: v === undefined ? undefined : { x: v.x, dims: [v.n, o.seqLen, o.f], y: v.y },
    objective: o.objective ?? { objective: 'binary', quantiles: [] },
    params: o.params,
    seed: o.seed,
    checkpoint: o.checkpoint,
    backend: o.backend,
    stopAfterEpoch: o.stopAfterEpoch,
    metadata: o.metadata,
    onEpoch: o.onEpoch === undefined ? undefined : (r) => o.onEpoch!(r.epoch, r.epochs, r.trainLoss, r.watchLoss, r.secondsPerEpoch, r.etaSeconds),
  });
}

/** Reads what `save()` wrote (also LSTM models saved before the neural base). */
export function loadLstm(files: Map<string, Uint8Array>): Promise<LstmModel> {
  return loadNeural(files, lstmNet);
}
