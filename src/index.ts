// Public API of barflow as a library. The CLI (`barflow …`) is a thin layer over these.

export { BAR_VALUE_FIELDS, type Bar, type BarValueField, MINUTE_MS, SYMBOL_PATTERN, barsEqual, formatTs, isValidSymbol } from './bars/bar.js';
export { BarSchema } from './bars/barSchema.js';
export { classifyBadNumber, decimalOrViolation, formatNumber, isDecimal, parseDecimal } from './bars/numbers.js';
export { REJECT_REASONS, REJECT_REASON_CODES, type Reject, RejectCounts, type RejectReason, StrictRejectError } from './bars/rejects.js';
export { BarValidator, type SymbolStats, type Violation, checkBarValues, checkOrder } from './bars/validation.js';

export { TimeZone } from './time/timezone.js';
export {
  type EpochUnit,
  MAX_BAR_TS,
  MIN_BAR_TS,
  type ParsedTimestamp,
  emptyTimestamp,
  guessEpochUnit,
  isEpochNumber,
  parseEpoch,
  parseIsoInstant,
  parseIsoTimestamp,
} from './time/timestamps.js';

export { type BarBatch, CsvBarReader, type CsvReadOptions, type CsvReadSummary } from './streams/csv/csvBarReader.js';
export { BAR_CSV_HEADER, CsvBarWriter, formatBarCsv } from './streams/csv/csvBarWriter.js';
export { type ColumnMap, LAYOUTS, type Layout, LayoutError, detectColumns } from './streams/csv/layout.js';
export { type BarSink, pumpBars } from './streams/barPump.js';
export { RejectFile, type RejectSink } from './streams/rejectSink.js';
export { TextFile } from './streams/textFile.js';
export {
  type FileJobOptions,
  type FileJobResult,
  type IngestOptions,
  type LoadTargets,
  type ProduceOptions,
  defaultRejectPath,
  ingestFile,
  loadFile,
  produceFile,
  validateFile,
} from './streams/fileJobs.js';

export { BAR_MESSAGE_HEADERS, type BarMessage, BarMessageSchema, type DecodeEventResult, type DecodeResult, WatermarkMessageSchema, decodeBar, decodeBarEvent, encodeBar, encodeWatermark } from './streams/kafka/barMessage.js';
export { KafkaBarPublisher, type PublishOptions } from './streams/kafka/barPublisher.js';
export { DEFAULT_BROKERS, brokersFromEnv, createKafka, idempotentProducer, parseBrokers } from './streams/kafka/kafkaClient.js';
export { KafkaRejectTopic } from './streams/kafka/rejectTopic.js';

export { type BarQuery, readBars } from './streams/questdb/barExport.js';
export { BARS_TABLE, QuestDbBarWriter } from './streams/questdb/barWriter.js';
export { DEFAULT_QUESTDB, type QuestDbEndpoint, parseQuestDbEndpoint, pgUrlOf, questDbEndpointFromEnv } from './streams/questdb/endpoint.js';
export { QuestDb, QuestDbError } from './streams/questdb/questDb.js';

export { type ApplyAction, SQL_IDENTIFIER, type TableDecl, type TopicDecl, type Topology, checkTableName, loadTopology } from './topology/topology.js';
export { applyTopology, ensureTable, ensureTopic } from './topology/apply.js';

export { type Endpoints, ServiceManager, type ServiceState, type UpResult } from './services/serviceManager.js';
export { kafkaAnswers, questDbAnswers } from './services/localServices.js';
export { type ServiceSettings, serviceSettingsFromEnv } from './services/settings.js';
export { KAFKA_VERSION, QUESTDB_VERSION } from './services/versions.js';

export { type Anchor, BucketClock, anchorText, parseAnchor } from './operators/anchor.js';
export { FeatureEngine, layoutTag } from './operators/featureEngine.js';
export {
  BAR_FIELD_ROLES,
  type ColumnRole,
  ColumnRoleSchema,
  DEFAULT_FEATURE_SET_FILE,
  type FeatureSet,
  type FeatureSetFile,
  FeatureSetSchema,
  type FeatureSpec,
  FeatureSpecSchema,
  KIND_ROLES,
  type ResolvedColumn,
  loadFeatureSet,
  resolveFeatureSet,
  roleOf,
} from './operators/featureSet.js';
export { Indicator, RingWindow, RollingSum } from './operators/indicators/indicator.js';
export { createIndicator } from './operators/indicators/registry.js';
export { type OhlcvBar, copyOhlcv, emptyOhlcv } from './operators/ohlcv.js';
export { OutOfOrderBarError, Resampler } from './operators/resampler.js';
export {
  type BarEvent,
  type FeatureRow,
  type IndicatorRow,
  type TimeframeBar,
  type Watermark,
  alignTimeframes,
  featureRows,
  indicators,
  isWatermark,
  perSymbol,
  resample,
} from './operators/rx.js';
export { StateReader, StateWriter, type Stateful } from './operators/state.js';
export { LADDER, timeframeMinutes, timeframeMs } from './operators/timeframe.js';
export { computeFeatures, type OperatorJobResult, openFeatureSink, resampleFile } from './streams/operatorJobs.js';
export { FeatureArrowWriter, featureSchema } from './streams/arrow/featureArrowWriter.js';
export { FeatureCsvWriter } from './streams/csv/featureCsvWriter.js';
export type { FeatureSink } from './streams/featureSink.js';

export { ColumnarBarReader, type ColumnarReadOptions, type ColumnarReadSummary } from './streams/sources/columnarBarReader.js';
export { FEATURES_TABLE, type FeatureWriterOptions, QuestDbFeatureWriter, ensureFeatureTable, readFeatureRows, storedUntil } from './streams/questdb/featureWriter.js';
export { type DatasetFormat, type ReplayOptions, type ReplayProgress, type ReplaySummary, replay } from './streams/replay/replay.js';
export { type ReplaySource, expandInputs, planUnits, symbolFromFileName } from './streams/replay/replayPlan.js';
export type { BackfillResult } from './streams/replay/questDbBackfill.js';

export * from './training/index.js';
export * from './serving/index.js';
