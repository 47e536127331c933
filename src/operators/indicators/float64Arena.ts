/**
 * Where indicators take their fixed-size buffers (outputs, rolling windows) from. An engine of the
 * default feature set holds a few hundred of them; as separate Float64Arrays each has its own
 * backing store, and creating 1,000 engines (a burst of new symbols in the live topology) spent
 * most of its time allocating them and in the GC that followed. Inside `FeatureEngine`'s
 * constructor they are views into one buffer per engine instead; anywhere else, plain arrays.
 *
 * Module state rather than a parameter so that the indicator classes keep their constructors;
 * it is set and cleared synchronously around one engine's construction, nothing else runs between.
 */
let active: { buffer: Float64Array | null; used: number } | null = null;

export function float64s(length: number): Float64Array {
  const a = active;
  if (a === null) return new Float64Array(length);
  const at = a.used;
  a.used += length;
  if (a.buffer === null || a.used > a.buffer.length) return new Float64Array(length);
  return a.buffer.subarray(at, at + length);
}

/**
 * Runs `build` with buffers carved from one allocation of `size` doubles (none when `size` is
 * null: then it only counts); returns what was built and the doubles it took.
 */
export function inArena<T>(size: number | null, build: () => T): { built: T; used: number } {
  if (active !== null) throw new Error('float64 arenas do not nest');
  active = { buffer: size === null ? null : new Float64Array(size), used: 0 };
  try {
    const built = build();
    return { built, used: active.used };
  } finally {
    active = null;
  }
}
