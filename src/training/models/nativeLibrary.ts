import koffi, { type LibraryHandle } from 'koffi';

/**
 * Loads the first of `candidates` that koffi opens (`prepare` runs before each try: a library's
 * own dependencies), or says why each failed, for the caller's error naming how to get it.
 */
export function loadFirstLibrary(candidates: readonly string[], prepare?: (path: string) => void): { lib: LibraryHandle; path: string } | { failures: string[] } {
  const failures: string[] = [];
  for (const path of candidates) {
    try {
      prepare?.(path);
      return { lib: koffi.load(path), path };
    } catch (e) {
      failures.push(`${path}: ${(e as Error).message}`);
    }
  }
  return { failures };
}
