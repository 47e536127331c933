import { lightgbmKind } from './lightgbm/lightgbmKind.js';
import { linearKind } from './linear/linearKind.js';
import { logisticKind } from './logistic/logisticKind.js';
import { lstmKind } from './lstm/lstmKind.js';
import type { ModelKind } from './modelRegistry.js';
import type { Objective } from '../objectives/objective.js';
import { xgboostKind } from './xgboost/xgboostKind.js';
import { tcnKind } from './tcn/tcnKind.js';
import { inceptionTimeKind } from './inceptiontime/inceptionTimeKind.js';
import { resnet1dKind } from './resnet1d/resnet1dKind.js';
import { dlinearKind } from './dlinear/dlinearKind.js';
import { nbeatsKind } from './nbeats/nbeatsKind.js';
import { nhitsKind } from './nhits/nhitsKind.js';
import { patchTstKind } from './patchtst/patchTstKind.js';
import { iTransformerKind } from './itransformer/iTransformerKind.js';
import { tftKind } from './tft/tftKind.js';
import { deepArKind } from './deepar/deepArKind.js';
import { quantileRnnKind } from './quantilernn/quantileRnnKind.js';

/** The registry: one line per model. */
export const MODEL_KINDS: readonly ModelKind<never>[] = [
  logisticKind as ModelKind<never>, linearKind as ModelKind<never>, xgboostKind as ModelKind<never>, lightgbmKind as ModelKind<never>, lstmKind as ModelKind<never>,
  tcnKind as ModelKind<never>,
  inceptionTimeKind as ModelKind<never>,
  resnet1dKind as ModelKind<never>,
  dlinearKind as ModelKind<never>,
  nbeatsKind as ModelKind<never>,
  nhitsKind as ModelKind<never>,
  patchTstKind as ModelKind<never>,
  iTransformerKind as ModelKind<never>,
  tftKind as ModelKind<never>,
  deepArKind as ModelKind<never>,
  quantileRnnKind as ModelKind<never>,
];

export function modelKind(name: string): ModelKind<unknown> {
  const k = MODEL_KINDS.find((m) => m.name === name);
  if (k === undefined) throw new Error(`unknown model kind ${JSON.stringify(name)}; the registry has ${MODEL_KINDS.map((m) => m.name).join(', ')}`);
  return k as ModelKind<unknown>;
}

/** The kinds that can learn an objective (for errors that say what would work). */
export function kindsFor(objective: Objective): string[] {
  return MODEL_KINDS.filter((k) => k.objectives.includes(objective)).map((k) => k.name);
}

export * from './modelRegistry.js';
