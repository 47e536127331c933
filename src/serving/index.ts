// The serving side: the live topology and the predictor interface.
export { DriftModelSchema, type DriftModelConfig, DriftPredictor, PREDICTION_FIELDS, type PredictionField, type Predictor, normalCdf, predictionSchema } from './predictor.js';
export { LiveConfigSchema, type LiveConfig, loadLiveConfig } from './live/liveConfig.js';
export { LiveMetrics } from './live/liveMetrics.js';
export { type LiveMessage, type LiveOutput, LiveProcessor } from './live/liveProcessor.js';
export { LiveSymbol } from './live/liveSymbol.js';
export { type LiveEndpoints, LiveTopology } from './live/liveTopology.js';
export { type DecodedFeatureRow, FEATURE_CONTENT_TYPE, type FeatureMessageFormat, decodeFeatureRow, encodeFeatureRow, encodePrediction, featureHeaders } from './live/outputMessages.js';
