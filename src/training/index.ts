// The training module's public API (re-exported from the package root).
export { type FeatureTable, type LoadFeatureTableOptions, describeRow, featureTableFromTable, loadFeatureTable } from './featureTable.js';
export * from './views.js';
export { DATASET_FORMAT, type DatasetManifest, DatasetManifestSchema, type FingerprintParts, datasetFingerprint, readManifest, writeManifest } from './datasetManifest.js';
export { type Dataset, openDataset } from './dataset.js';
// Labels, splits, backtests (docs/validation.md).
export { type LabelConfig, LabelConfigSchema, type LabelSpec, parseLabelConfig, readLabelConfig } from './labels/labelConfig.js';
export { type LabelColumn, type LabelSetResult, type LabelTable, computeLabels, openLabels, writeLabels } from './labels/labelSet.js';
export { BARRIER_STATUS, type BarPath, type BarrierOutputs, type BarrierParams, type BarrierStatus, type BothTouchedRule, allocateBarrierOutputs, labelTripleBarrier } from './labels/tripleBarrier.js';
export { labelForwardReturns } from './labels/forwardReturns.js';
export { type LabelEntry, LabelEntrySchema } from './datasetManifest.js';
export { type AlignedValues, alignByGroup, alignToDataset } from './predictionsFile.js';
export * from './splits/index.js';
export { type BacktestConfig, BacktestConfigSchema, parseBacktestConfig, readBacktestConfig, targetPosition } from './backtest/backtestConfig.js';
export * from './backtest/backtestTypes.js';
export { type SymbolPeriods, type TimeBase, backtestRows, backtestTimeBase, backtestWithSymbols, combineSymbols, estimateBarMs, estimatePeriodsPerYear, seriesOf, symbolTimelines, tradeSymbols } from './backtest/backtest.js';
export { type PeriodSeries, computeMetrics, equityAndDrawdown, summarize } from './backtest/metrics.js';
export { type BacktestOptions, runBacktest } from './backtest/runBacktest.js';
export { renderBacktestReport } from './backtest/report/htmlReport.js';
export * from './overfitting/index.js';
// Models, training and evaluation (docs/training.md).
export { MODEL_KINDS, kindsFor, modelKind } from './models/index.js';
export type { Artifact, Explanation, ModelKind, Scorer, TrainInput } from './models/modelRegistry.js';
export { DEFAULT_QUANTILES, MULTICLASS_CLASSES, OBJECTIVES, type Objective, type ObjectiveSpec, pinball, quantileName, rawOutputs } from './objectives/objective.js';
export { type ContractParams, OutputContract, declaredOutputs, fitContract } from './objectives/outputContract.js';
export { type LiveRow, MODEL_VIEWS, type ModelView, type ViewName, type ViewParams, modelView } from './views/modelView.js';
export { type ObjectiveMetrics, meanOfMetrics, objectiveMetrics } from './evaluation/objectiveMetrics.js';
export { type ScalerParams, applyScaler, fitStandardScaler } from './models/scaler.js';
export { type Calibrator, calibrate, fitCalibrator, fitIsotonic, fitTemperature } from './models/calibration.js';
export { type TrainConfig, TrainConfigSchema, parseTrainConfig, readTrainConfig } from './train/trainConfig.js';
export { type TrainProgress, type TrainResult, trainFromConfig } from './train/trainRun.js';
export { type ClassificationMetrics, type ReliabilityBin, classificationMetrics, reliabilityTable, rocAuc } from './evaluation/classificationMetrics.js';
export { type Evaluation, evaluateBundle } from './evaluation/evaluate.js';
// Ensembles, regime and conformal intervals (docs/ensembles.md).
export { type BaseModelConfig, type ConformalConfig, type ModelSection, type RegimeConfig, type StackingConfig, type VotingConfig, isEnsemble } from './train/trainConfig.js';
export { type GaussianHmmParams, HmmFilter, filterSequence, fitGaussianHmm, highVolatilityState } from './regime/gaussianHmm.js';
export { type RegimeDoc, RegimeFilter, filterTable, fitRegime } from './regime/regimeModel.js';
export { CrossConformal, type CrossConformalJson, conformalQuantile, cqrShift, splitConformal } from './conformal/conformal.js';
export { AdaptiveConformal } from './conformal/adaptiveConformal.js';
export { type Outcomes, adaptIntervals } from './conformal/adaptiveIntervals.js';
export { poolKind } from './ensembles/poolKind.js';
