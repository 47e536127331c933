import { resolve } from 'node:path';
import type { LibraryHandle } from 'koffi';
import { PACKAGE_ROOT } from '../../../paths.js';
import { loadFirstLibrary } from '../nativeLibrary.js';

/**
 * The koffi binding of the part of LightGBM's C API (LightGBM/c_api.h, 4.x) that barflow uses:
 * dense float32 datasets, booster create/update, model text save/load, JSON dump and prediction.
 * Real LightGBM rather than a re-implementation; the library is the one in the official PyPI wheel,
 * put into barflow's cache by scripts/ensure-lightgbm.sh (Debian has no LightGBM package).
 *
 * Every call returns 0 or -1; `check` turns -1 into an Error carrying LGBM_GetLastError's text, so
 * no return code is ever ignored. Handles are opaque pointers; the callers free them in `finally`.
 */

/** The version scripts/ensure-lightgbm.sh pins (its VERSION), i.e. the cache folder's name. */
export const LIGHTGBM_VERSION = '4.7.0';

/** c_api.h's C_API_DTYPE_FLOAT32 / C_API_PREDICT_NORMAL / C_API_PREDICT_RAW_SCORE. */
const DTYPE_FLOAT32 = 0;
const PREDICT_NORMAL = 0;
const PREDICT_RAW_SCORE = 1;

export type DatasetHandle = unknown;
export type BoosterHandle = unknown;

export interface LightgbmLibrary {
  /** Where the library was loaded from. */
  path: string;
  /** A dataset from a row-major float32 matrix; `parameters` is LightGBM's "k=v k=v" string. */
  datasetFromMat(data: Float32Array, nrow: number, ncol: number, parameters: string): DatasetHandle;
  datasetSetLabel(handle: DatasetHandle, label: Float32Array): void;
  datasetFree(handle: DatasetHandle): void;
  boosterCreate(train: DatasetHandle, parameters: string): BoosterHandle;
  /** One boosting round; true when LightGBM could not split any more (the round added no tree). */
  boosterUpdateOneIter(handle: BoosterHandle): boolean;
  /** Trees per round: 1, or the number of classes for multiclass. */
  boosterNumModelPerIteration(handle: BoosterHandle): number;
  /** The model in LightGBM's own text format (what LGBM_BoosterLoadModelFromString reads). */
  boosterSaveModelToString(handle: BoosterHandle): string;
  /** The model as LightGBM's JSON dump (trees with thresholds, missing types, leaf values). */
  boosterDumpModel(handle: BoosterHandle): string;
  boosterLoadModelFromString(text: string): BoosterHandle;
  /** LightGBM's own prediction: n × trees-per-round values, transformed (probabilities) or raw. */
  boosterPredictForMat(handle: BoosterHandle, data: Float32Array, nrow: number, ncol: number, raw: boolean): Float64Array;
  boosterFree(handle: BoosterHandle): void;
}

/** Thrown when the shared library cannot be loaded; says how to get it. */
export class LightgbmLibraryMissingError extends Error {
  override name = 'LightgbmLibraryMissingError';
}

/** LightGBM's own error (a -1 return), with the text of LGBM_GetLastError. */
export class LightgbmError extends Error {
  override name = 'LightgbmError';
}

/**
 * Paths to try: BARFLOW_LIBLIGHTGBM alone when set (a wrong path must fail, not fall back), else
 * the cache the ensure script fills: $BARFLOW_CACHE when set, then the package's .barflow/cache,
 * then the working directory's.
 */
export function libraryCandidates(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string[] {
  const fromEnv = env.BARFLOW_LIBLIGHTGBM;
  if (fromEnv !== undefined && fromEnv !== '') return [fromEnv];
  const inCache = (cache: string): string => resolve(cache, 'lib', `lightgbm-${LIGHTGBM_VERSION}`, 'lib_lightgbm.so');
  const candidates: string[] = [];
  if (env.BARFLOW_CACHE !== undefined && env.BARFLOW_CACHE !== '') candidates.push(inCache(resolve(cwd, env.BARFLOW_CACHE)));
  // The script's default is the package root's .barflow/cache; a cache made by hand elsewhere is found in the working directory.
  candidates.push(inCache(resolve(PACKAGE_ROOT, '.barflow', 'cache')), inCache(resolve(cwd, '.barflow', 'cache')));
  return [...new Set(candidates)];
}

let cached: LightgbmLibrary | undefined;

/** The process-wide library, loaded on first use from `libraryCandidates()`. */
export function lightgbmLibrary(): LightgbmLibrary {
  cached ??= openLightgbmLibrary(libraryCandidates());
  return cached;
}

/** Loads and binds lib_lightgbm.so from the first candidate that loads (injectable for tests). */
export function openLightgbmLibrary(candidates: string[]): LightgbmLibrary {
  const loaded = loadFirstLibrary(candidates);
  if ('lib' in loaded) return bind(loaded.lib, loaded.path);
  const { failures } = loaded;
  throw new LightgbmLibraryMissingError(
    `LightGBM's shared library (lib_lightgbm.so ${LIGHTGBM_VERSION}) could not be loaded; tried:\n  ${failures.join('\n  ')}\n` +
      'Run `bash scripts/ensure-lightgbm.sh` (fetches it from the lightgbm wheel on PyPI into .barflow/cache), or set BARFLOW_LIBLIGHTGBM to the path of lib_lightgbm.so.',
  );
}

function bind(lib: LibraryHandle, path: string): LightgbmLibrary {
  // Handles are plain void* (named koffi types are process-global and would clash when the module
  // is loaded twice, as test runners do). Caller-allocated buffers (strings, predictions) are typed
  // arrays passed as void*: koffi hands LightGBM their memory directly.
  const LGBM_GetLastError = lib.func('const char *LGBM_GetLastError()');
  const LGBM_DatasetCreateFromMat = lib.func(
    'int LGBM_DatasetCreateFromMat(const void *data, int data_type, int32_t nrow, int32_t ncol, int is_row_major, const char *parameters, void *reference, _Out_ void **out)',
  );
  const LGBM_DatasetSetField = lib.func('int LGBM_DatasetSetField(void *handle, const char *field_name, const void *field_data, int num_element, int type)');
  const LGBM_DatasetFree = lib.func('int LGBM_DatasetFree(void *handle)');
  const LGBM_BoosterCreate = lib.func('int LGBM_BoosterCreate(void *train_data, const char *parameters, _Out_ void **out)');
  const LGBM_BoosterUpdateOneIter = lib.func('int LGBM_BoosterUpdateOneIter(void *handle, _Out_ int *produced_empty_tree)');
  const LGBM_BoosterNumModelPerIteration = lib.func('int LGBM_BoosterNumModelPerIteration(void *handle, _Out_ int *out)');
  const LGBM_BoosterSaveModelToString = lib.func(
    'int LGBM_BoosterSaveModelToString(void *handle, int start_iteration, int num_iteration, int feature_importance_type, int64_t buffer_len, _Out_ int64_t *out_len, void *out_str)',
  );
  const LGBM_BoosterDumpModel = lib.func(
    'int LGBM_BoosterDumpModel(void *handle, int start_iteration, int num_iteration, int feature_importance_type, int64_t buffer_len, _Out_ int64_t *out_len, void *out_str)',
  );
  const LGBM_BoosterLoadModelFromString = lib.func('int LGBM_BoosterLoadModelFromString(const char *model_str, _Out_ int *out_num_iterations, _Out_ void **out)');
  const LGBM_BoosterPredictForMat = lib.func(
    'int LGBM_BoosterPredictForMat(void *handle, const void *data, int data_type, int32_t nrow, int32_t ncol, int is_row_major, int predict_type, int start_iteration, int num_iteration, const char *parameter, _Out_ int64_t *out_len, void *out_result)',
  );
  const LGBM_BoosterFree = lib.func('int LGBM_BoosterFree(void *handle)');

  const check = (rc: number, what: string): void => {
    if (rc === 0) return;
    throw new LightgbmError(`${what} failed: ${String(LGBM_GetLastError() ?? '').trim() || 'no error text'}`);
  };

  // The string calls copy into a caller buffer only when it is large enough and always report the
  // length needed (terminating NUL included): ask once with an empty buffer, then with the right one.
  const readString = (fn: typeof LGBM_BoosterDumpModel, handle: BoosterHandle, what: string): string => {
    const len = [0];
    check(fn(handle, 0, -1, 0, 0, len, Buffer.alloc(1)), what);
    const buffer = Buffer.alloc(Number(len[0]));
    check(fn(handle, 0, -1, 0, buffer.length, len, buffer), what);
    return buffer.toString('utf8', 0, Math.max(0, Number(len[0]) - 1));
  };
  const checkMatrix = (what: string, data: Float32Array, nrow: number, ncol: number): void => {
    if (!Number.isInteger(nrow) || !Number.isInteger(ncol) || nrow < 1 || ncol < 1 || data.length !== nrow * ncol) {
      throw new RangeError(`${what}: ${data.length} values for ${nrow}×${ncol}`);
    }
  };

  const api: LightgbmLibrary = {
    path,
    datasetFromMat(data, nrow, ncol, parameters) {
      checkMatrix('LGBM_DatasetCreateFromMat', data, nrow, ncol);
      const out: unknown[] = [null];
      check(LGBM_DatasetCreateFromMat(data, DTYPE_FLOAT32, nrow, ncol, 1, parameters, null, out), 'LGBM_DatasetCreateFromMat');
      return out[0];
    },
    datasetSetLabel(handle, label) {
      check(LGBM_DatasetSetField(handle, 'label', label, label.length, DTYPE_FLOAT32), 'LGBM_DatasetSetField(label)');
    },
    datasetFree(handle) {
      check(LGBM_DatasetFree(handle), 'LGBM_DatasetFree');
    },
    boosterCreate(train, parameters) {
      const out: unknown[] = [null];
      check(LGBM_BoosterCreate(train, parameters, out), 'LGBM_BoosterCreate');
      return out[0];
    },
    boosterUpdateOneIter(handle) {
      const finished = [0];
      check(LGBM_BoosterUpdateOneIter(handle, finished), 'LGBM_BoosterUpdateOneIter');
      return finished[0] === 1;
    },
    boosterNumModelPerIteration(handle) {
      const out = [0];
      check(LGBM_BoosterNumModelPerIteration(handle, out), 'LGBM_BoosterNumModelPerIteration');
      return out[0]!;
    },
    boosterSaveModelToString: (handle) => readString(LGBM_BoosterSaveModelToString, handle, 'LGBM_BoosterSaveModelToString'),
    boosterDumpModel: (handle) => readString(LGBM_BoosterDumpModel, handle, 'LGBM_BoosterDumpModel'),
    boosterLoadModelFromString(text) {
      const iterations = [0];
      const out: unknown[] = [null];
      check(LGBM_BoosterLoadModelFromString(text, iterations, out), 'LGBM_BoosterLoadModelFromString');
      return out[0];
    },
    boosterPredictForMat(handle, data, nrow, ncol, raw) {
      checkMatrix('LGBM_BoosterPredictForMat', data, nrow, ncol);
      const result = new Float64Array(nrow * api.boosterNumModelPerIteration(handle));
      const len = [0];
      // num_threads=1 in the prediction parameters: the same sums whatever the machine.
      const rc = LGBM_BoosterPredictForMat(handle, data, DTYPE_FLOAT32, nrow, ncol, 1, raw ? PREDICT_RAW_SCORE : PREDICT_NORMAL, 0, -1, 'num_threads=1', len, result);
      check(rc, 'LGBM_BoosterPredictForMat');
      if (Number(len[0]) !== result.length) throw new LightgbmError(`LGBM_BoosterPredictForMat wrote ${Number(len[0])} values, expected ${result.length}`);
      return result;
    },
    boosterFree(handle) {
      check(LGBM_BoosterFree(handle), 'LGBM_BoosterFree');
    },
  };
  return api;
}
