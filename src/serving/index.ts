// The serving side: the live topology and the predictor interface.
export { DriftModelSchema, type DriftModelConfig, DriftPredictor, PREDICTION_FIELDS, type PredictionField, type Predictor, normalCdf, predictionSchema } from './predictor.js';
export { LiveConfigSchema, type LiveConfig, loadLiveConfig } from './live/liveConfig.js';
export { LiveMetrics } from './live/liveMetrics.js';
export { type LiveMessage, type LiveOutput, LiveProcessor } from './live/liveProcessor.js';
export { LiveSymbol } from './live/liveSymbol.js';
export { type LiveEndpoints, LiveTopology } from './live/liveTopology.js';
export { type DecodedFeatureRow, FEATURE_CONTENT_TYPE, type FeatureMessageFormat, decodeFeatureRow, encodeFeatureRow, encodePrediction, featureHeaders } from './live/outputMessages.js';
export { BUNDLE_FORMAT, type BundleManifest, BundleManifestSchema } from './bundle/bundleManifest.js';
export { type LoadedBundle, loadBundle, writeBundle } from './bundle/bundle.js';
export { BundlePredictor, type PredictionColumns } from './bundle/bundlePredictor.js';
export { type FallbackReason, type LiveRow, LiveModel, type RowPredictor, bundleRows, syncRows } from './live/liveModel.js';
export { RecentRows, type WindowSpec } from './live/recentRows.js';
export { openOnnxSession, runOnnx } from './onnx/onnxSession.js';
