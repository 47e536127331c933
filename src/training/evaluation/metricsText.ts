import type { Objective } from '../objectives/objective.js';
import type { ObjectiveMetrics } from './objectiveMetrics.js';

const pct = (v: number | undefined) => (v === undefined ? '–' : `${(v * 100).toFixed(2)}%`);
const num = (v: number | undefined) => (v === undefined ? '–' : v.toFixed(4));

/** One line of an objective's main metrics, for the CLI. */
export function formatMetrics(objective: Objective, m: ObjectiveMetrics): string {
  switch (objective) {
    case 'binary':
      return `logloss ${num(m.logLoss)}  AUC ${num(m.auc)}  accuracy ${pct(m.accuracy)}  macro-F1 ${num(m.macroF1)}  base rate ${pct(m.baseRate)}`;
    case 'multiclass':
      return `logloss ${num(m.logLoss)}  Brier ${num(m.brier)}  AUC ${num(m.auc)}  accuracy ${pct(m.accuracy)}  macro-F1 ${num(m.macroF1)}`;
    case 'regression':
      return `RMSE ${num(m.rmse)}  MAE ${num(m.mae)}  R² ${num(m.r2)}  direction ${pct(m.directionalAccuracy)}  IC ${num(m.ic)}`;
    case 'quantile': {
      const pinball = Object.entries(m)
        .filter(([k]) => k.startsWith('pinball_'))
        .map(([k, v]) => `${k.slice('pinball_'.length)} ${v.toExponential(3)}`)
        .join('  ');
      return `pinball ${pinball}  coverage ${pct(m.coverage)}  width ${m.meanWidth === undefined ? '–' : m.meanWidth.toExponential(3)}`;
    }
  }
}
