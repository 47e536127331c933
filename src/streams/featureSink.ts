import type { FeatureRow } from '../operators/rx.js';

/**
 * Where feature rows go. `add` is synchronous (it is called from inside the RxJS pipeline and must
 * copy what it keeps: rows may share one buffer); `flush` writes what was added, with back-pressure.
 */
export interface FeatureSink {
  add(row: FeatureRow): void;
  flush(): Promise<void>;
  close(): Promise<void>;
  readonly rows: number;
}
