// Overfitting statistics: PBO by CSCV and the probabilistic / deflated Sharpe ratios (docs/validation.md).
// (binomial and combinationsOf live in ../combinatorics.ts, exported with the splits.)
export {
  type PboDegradation,
  type PboMetric,
  type PboOptions,
  type PboResult,
  type ReturnsInput,
  type ReturnsMatrix,
  pbo,
  toReturnsMatrix,
} from './pbo.js';
export {
  type BestColumnDsr,
  type DeflatedSharpe,
  type DsrInput,
  type PsrInput,
  type ReturnMoments,
  EULER_MASCHERONI,
  deflatedSharpe,
  deflatedSharpeOfBest,
  expectedMaxSharpe,
  expectedMaxStandardNormal,
  probabilisticSharpe,
  psrStatistic,
  returnMoments,
} from './deflatedSharpe.js';
