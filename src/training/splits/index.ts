// Leakage-safe splits: spans, purge/embargo, the four methods and the folds file.
export { type Embargo, NO_EMBARGO, type RowSpans, type Timeline, buildTimeline, parseEmbargo } from './rowSpans.js';
export { type EmbargoSide, type Fold, type TestBlock, fromRanges, purgeAndEmbargo, toRanges } from './folds.js';
export {
  type BacktestPath,
  type SplitMethod,
  type SplitPlan,
  chronological,
  combinations,
  combinatorialPurgedCV,
  cpcvPaths,
  makeSplits,
  purgedKFold,
  walkForward,
} from './splitMethods.js';
export { FOLDS_FORMAT, type FoldsFile, FoldsFileSchema, type LoadedFolds, foldsDocument, readFoldsFile, writeFoldsFile } from './foldsFile.js';
export { binomial, combinationsOf } from '../combinatorics.js';
