import { logisticKind } from './logistic/logisticKind.js';
import { lstmKind } from './lstm/lstmKind.js';
import type { ModelKind } from './modelRegistry.js';
import { xgboostKind } from './xgboost/xgboostKind.js';

/** The registry: one line per model. */
export const MODEL_KINDS: readonly ModelKind<never>[] = [logisticKind as ModelKind<never>, xgboostKind as ModelKind<never>, lstmKind as ModelKind<never>];

export function modelKind(name: string): ModelKind<unknown> {
  const k = MODEL_KINDS.find((m) => m.name === name);
  if (k === undefined) throw new Error(`unknown model kind ${JSON.stringify(name)}; the registry has ${MODEL_KINDS.map((m) => m.name).join(', ')}`);
  return k as ModelKind<unknown>;
}

export * from './modelRegistry.js';
