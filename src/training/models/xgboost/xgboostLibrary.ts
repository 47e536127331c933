import { existsSync, readdirSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import koffi, { type LibraryHandle } from 'koffi';
import { PACKAGE_ROOT } from '../../../paths.js';
import { loadFirstLibrary } from '../nativeLibrary.js';

/**
 * The koffi binding of the part of XGBoost's C API (xgboost/c_api.h, 1.7 to 3.x) that barflow
 * uses: dense float32 DMatrix, booster create/configure/update/evaluate/slice/predict, JSON model
 * save/load. Real XGBoost rather than a re-implementation, so the model is the one the rest of the
 * world knows. The library is the pinned XGBoost that scripts/ensure-xgboost.sh unpacks into the
 * cache, else the system's (Debian's `libxgboost0`, 1.7: no quantile objective).
 *
 * Every call returns 0 or -1; `check` turns -1 into an Error carrying XGBGetLastError's text, so
 * no return code is ever ignored. Handles are opaque pointers; the callers free them in `finally`.
 */

/** The XGBoost that scripts/ensure-xgboost.sh downloads (keep the two in sync; a test checks). */
export const PINNED_XGBOOST = '3.2.0';

/**
 * Tried after the pinned library, through the system loader's search path: Debian's runtime
 * package (libxgboost0) ships only the versioned name; the unversioned one comes with -dev.
 */
export const SYSTEM_LIBRARY_CANDIDATES = ['libxgboost.so.0', 'libxgboost.so'];

/** Where scripts/ensure-xgboost.sh puts the pinned library: ${BARFLOW_CACHE:-<package>/.barflow/cache}/lib/xgboost-<version>/. */
export function pinnedLibraryPath(env: NodeJS.ProcessEnv = process.env): string {
  const cache = env.BARFLOW_CACHE ? resolve(env.BARFLOW_CACHE) : resolve(PACKAGE_ROOT, '.barflow', 'cache');
  return join(cache, 'lib', `xgboost-${PINNED_XGBOOST}`, 'libxgboost.so');
}

/** Opaque handles (koffi represents them as pointers; never dereferenced on this side). */
export type DMatrixHandle = unknown;
export type BoosterHandle = unknown;

export interface XgboostLibrary {
  /** Where the library was loaded from and its version, e.g. [3, 2, 0]. */
  path: string;
  version: [number, number, number];
  dmatrixFromMat(data: Float32Array, nrow: number, ncol: number): DMatrixHandle;
  dmatrixSetFloatInfo(handle: DMatrixHandle, field: 'label' | 'weight' | 'base_margin', values: Float32Array): void;
  dmatrixFree(handle: DMatrixHandle): void;
  boosterCreate(dmats: DMatrixHandle[]): BoosterHandle;
  boosterFree(handle: BoosterHandle): void;
  boosterSetParam(handle: BoosterHandle, name: string, value: string): void;
  boosterUpdateOneIter(handle: BoosterHandle, iter: number, dtrain: DMatrixHandle): void;
  /** The evaluation line XGBoost prints, e.g. "[3]\ttrain-logloss:0.52\tvalid-logloss:0.60". */
  boosterEvalOneIter(handle: BoosterHandle, iter: number, dmats: DMatrixHandle[], names: string[]): string;
  /** Trees of rounds [begin, end) as a new booster (the caller frees both). */
  boosterSlice(handle: BoosterHandle, begin: number, end: number): BoosterHandle;
  /** Transformed predictions, row-major n × outputs (probabilities for the logistic/softprob objectives), copied out of XGBoost's buffer. */
  boosterPredict(handle: BoosterHandle, dmat: DMatrixHandle, outputMargin: boolean): Float32Array;
  /** The model in XGBoost's own JSON format (bytes, copied out of XGBoost's buffer). */
  boosterSaveJson(handle: BoosterHandle): Uint8Array;
  boosterLoadModel(handle: BoosterHandle, bytes: Uint8Array): void;
  /** The booster's full configuration (all parameters, defaults included) as JSON text. */
  boosterSaveJsonConfig(handle: BoosterHandle): string;
}

/** Thrown when the shared library cannot be loaded; says how to get it. */
export class XgboostLibraryMissingError extends Error {
  override name = 'XgboostLibraryMissingError';
}

/** XGBoost's own error (a -1 return), with the text of XGBGetLastError minus its native stack trace. */
export class XgboostError extends Error {
  override name = 'XgboostError';
}

/**
 * Paths to try: BARFLOW_LIBXGBOOST alone when set (a wrong path must fail, not fall back), else the
 * pinned library in the cache, then the system's.
 */
export function libraryCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const fromEnv = env.BARFLOW_LIBXGBOOST;
  return fromEnv !== undefined && fromEnv !== '' ? [fromEnv] : [pinnedLibraryPath(env), ...SYSTEM_LIBRARY_CANDIDATES];
}

let cached: XgboostLibrary | undefined;

/** The process-wide library, loaded on first use from `libraryCandidates()`. */
export function xgboostLibrary(): XgboostLibrary {
  cached ??= openXgboostLibrary(libraryCandidates());
  return cached;
}

/** Loads and binds libxgboost from the first candidate that loads (injectable for tests). */
export function openXgboostLibrary(candidates: string[]): XgboostLibrary {
  const loaded = loadFirstLibrary(candidates, loadBundledOpenMp);
  if ('lib' in loaded) return bind(loaded.lib, loaded.path);
  const { failures } = loaded;
  throw new XgboostLibraryMissingError(
    `XGBoost's shared library (libxgboost.so) could not be loaded; tried:\n  ${failures.join('\n  ')}\n` +
      `Run scripts/ensure-xgboost.sh (downloads XGBoost ${PINNED_XGBOOST} into the cache, or installs Debian's libxgboost0 when run as root), ` +
      'or set BARFLOW_LIBXGBOOST to the path of libxgboost.so.',
  );
}

/**
 * A wheel's libxgboost.so needs its own OpenMP runtime under a hashed name (libgomp-<hash>.so.1.0.0,
 * found through an RPATH that only works inside the wheel's layout). Loading that file first, by
 * its path, satisfies the dependency: the dynamic loader matches a needed name against the sonames
 * already loaded. Nothing to do for a system library (no such file beside it).
 */
function loadBundledOpenMp(libraryPath: string): void {
  if (!isAbsolute(libraryPath) || !existsSync(libraryPath)) return;
  const dir = dirname(libraryPath);
  for (const name of readdirSync(dir).sort()) if (/^libgomp-[0-9a-f]+\.so/.test(name)) koffi.load(join(dir, name));
}

function bind(lib: LibraryHandle, path: string): XgboostLibrary {
  // Handles are plain void* (named koffi types are process-global and would clash when the module
  // is loaded twice, as test runners do). bst_ulong is uint64_t in c_api.h. Out-pointers to
  // XGBoost-owned buffers are read as void** and copied at once with koffi.view: the buffer is only
  // valid until the next call on the same handle.
  const XGBoostVersion = lib.func('void XGBoostVersion(_Out_ int *major, _Out_ int *minor, _Out_ int *patch)');
  const XGBGetLastError = lib.func('const char *XGBGetLastError()');
  const XGDMatrixCreateFromMat = lib.func('int XGDMatrixCreateFromMat(const float *data, uint64_t nrow, uint64_t ncol, float missing, _Out_ void **out)');
  const XGDMatrixSetFloatInfo = lib.func('int XGDMatrixSetFloatInfo(void *handle, const char *field, const float *array, uint64_t len)');
  const XGDMatrixFree = lib.func('int XGDMatrixFree(void *handle)');
  const XGBoosterCreate = lib.func('int XGBoosterCreate(void **dmats, uint64_t len, _Out_ void **out)');
  const XGBoosterFree = lib.func('int XGBoosterFree(void *handle)');
  const XGBoosterSetParam = lib.func('int XGBoosterSetParam(void *handle, const char *name, const char *value)');
  const XGBoosterUpdateOneIter = lib.func('int XGBoosterUpdateOneIter(void *handle, int iter, void *dtrain)');
  const XGBoosterEvalOneIter = lib.func(
    'int XGBoosterEvalOneIter(void *handle, int iter, void **dmats, const char **names, uint64_t len, _Out_ const char **out)',
  );
  const XGBoosterSlice = lib.func('int XGBoosterSlice(void *handle, int begin, int end, int step, _Out_ void **out)');
  const XGBoosterPredict = lib.func(
    'int XGBoosterPredict(void *handle, void *dmat, int option_mask, unsigned int ntree_limit, int training, _Out_ uint64_t *out_len, _Out_ void **out_result)',
  );
  const XGBoosterSaveModelToBuffer = lib.func('int XGBoosterSaveModelToBuffer(void *handle, const char *config, _Out_ uint64_t *out_len, _Out_ void **out_dptr)');
  const XGBoosterLoadModelFromBuffer = lib.func('int XGBoosterLoadModelFromBuffer(void *handle, const void *buf, uint64_t len)');
  const XGBoosterSaveJsonConfig = lib.func('int XGBoosterSaveJsonConfig(void *handle, _Out_ uint64_t *out_len, _Out_ void **out_str)');

  const check = (rc: number, what: string): void => {
    if (rc === 0) return;
    const raw = String(XGBGetLastError() ?? '');
    // XGBoost appends a native stack trace ("Stack trace:\n  [bt] ..."): useless to a user.
    const text = raw.split('\nStack trace:')[0]?.trim() || 'no error text';
    throw new XgboostError(`${what} failed: ${text}`);
  };
  const copyBytes = (ptr: unknown, len: number): Uint8Array => (len === 0 ? new Uint8Array(0) : new Uint8Array(koffi.view(ptr, len).slice(0)));

  const major = [0];
  const minor = [0];
  const patch = [0];
  XGBoostVersion(major, minor, patch);

  return {
    path,
    version: [major[0] ?? 0, minor[0] ?? 0, patch[0] ?? 0],
    dmatrixFromMat(data, nrow, ncol) {
      if (data.length !== nrow * ncol) throw new RangeError(`dmatrix: ${data.length} values for ${nrow}×${ncol}`);
      const out: unknown[] = [null];
      // missing = NaN: NaN cells are XGBoost's missing values (they follow each split's default direction).
      check(XGDMatrixCreateFromMat(data, nrow, ncol, Number.NaN, out), 'XGDMatrixCreateFromMat');
      return out[0];
    },
    dmatrixSetFloatInfo(handle, field, values) {
      check(XGDMatrixSetFloatInfo(handle, field, values, values.length), `XGDMatrixSetFloatInfo(${field})`);
    },
    dmatrixFree(handle) {
      check(XGDMatrixFree(handle), 'XGDMatrixFree');
    },
    boosterCreate(dmats) {
      const out: unknown[] = [null];
      check(XGBoosterCreate(dmats, dmats.length, out), 'XGBoosterCreate');
      return out[0];
    },
    boosterFree(handle) {
      check(XGBoosterFree(handle), 'XGBoosterFree');
    },
    boosterSetParam(handle, name, value) {
      check(XGBoosterSetParam(handle, name, value), `XGBoosterSetParam(${name}=${value})`);
    },
    boosterUpdateOneIter(handle, iter, dtrain) {
      check(XGBoosterUpdateOneIter(handle, iter, dtrain), `XGBoosterUpdateOneIter(${iter})`);
    },
    boosterEvalOneIter(handle, iter, dmats, names) {
      const out: unknown[] = [null];
      check(XGBoosterEvalOneIter(handle, iter, dmats, names, dmats.length, out), `XGBoosterEvalOneIter(${iter})`);
      return String(out[0] ?? '');
    },
    boosterSlice(handle, begin, end) {
      const out: unknown[] = [null];
      check(XGBoosterSlice(handle, begin, end, 1, out), `XGBoosterSlice(${begin}, ${end})`);
      return out[0];
    },
    boosterPredict(handle, dmat, outputMargin) {
      const len = [0];
      const out: unknown[] = [null];
      // option_mask 1 = output margin; ntree_limit 0 = all trees; training 0 = no dropout etc.
      check(XGBoosterPredict(handle, dmat, outputMargin ? 1 : 0, 0, 0, len, out), 'XGBoosterPredict');
      return new Float32Array(copyBytes(out[0], Number(len[0]) * 4).buffer);
    },
    boosterSaveJson(handle) {
      const len = [0];
      const out: unknown[] = [null];
      check(XGBoosterSaveModelToBuffer(handle, '{"format": "json"}', len, out), 'XGBoosterSaveModelToBuffer');
      return copyBytes(out[0], Number(len[0]));
    },
    boosterLoadModel(handle, bytes) {
      check(XGBoosterLoadModelFromBuffer(handle, bytes, bytes.length), 'XGBoosterLoadModelFromBuffer');
    },
    boosterSaveJsonConfig(handle) {
      const len = [0];
      const out: unknown[] = [null];
      check(XGBoosterSaveJsonConfig(handle, len, out), 'XGBoosterSaveJsonConfig');
      return new TextDecoder().decode(copyBytes(out[0], Number(len[0])));
    },
  };
}
