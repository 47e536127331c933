// Views for models over a feature table: rows are selected by index (so splits and folds never
// copy the table) and copied only into the batch asked for. docs/views.md describes them.
export { type ArrayFor, type Batch, type Dtype, type RowBatch } from './views/common.js';
export { TabularView, type TabularBatch, type TabularViewOptions } from './views/tabularView.js';
export { WindowView, type WindowBatch, type WindowViewOptions } from './views/windowView.js';
export {
  BAR_CHANNELS,
  type BarChannel,
  MultiResolutionView,
  type MultiResolutionBatch,
  type MultiResolutionViewOptions,
  type TimeframeBars,
} from './views/multiResolutionView.js';
