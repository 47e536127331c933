/**
 * The mean of per-fold metrics, field by field: how cross-validation reports one number per metric
 * (as trainRun already does for the binary metrics). Numbers are averaged, arrays of numbers
 * element-wise; every field is averaged, n and skipped included (the mean fold size). A NaN in any
 * fold makes that field's mean NaN: an undefined fold metric is not silently dropped.
 */
export function meanOf<T extends object>(metrics: readonly T[]): T {
  if (metrics.length === 0) throw new Error('meanOf: no metrics to average');
  const first = metrics[0] as Record<string, unknown>;
  const out: Record<string, number | number[]> = {};
  for (const [name, v0] of Object.entries(first)) {
    const values = metrics.map((m, f) => {
      if (!(name in m)) throw new Error(`meanOf: fold ${f} has no metric ${name}`);
      return (m as Record<string, unknown>)[name];
    });
    if (typeof v0 === 'number') out[name] = values.reduce<number>((a, v, f) => a + number(v, name, f), 0) / metrics.length;
    else if (Array.isArray(v0)) {
      const len = v0.length;
      out[name] = Array.from({ length: len }, (_, j) =>
        values.reduce<number>((a, v, f) => {
          if (!Array.isArray(v) || v.length !== len) throw new Error(`meanOf: metric ${name} of fold ${f} is not an array of ${len} numbers`);
          return a + number(v[j], `${name}[${j}]`, f);
        }, 0) / metrics.length,
      );
    } else throw new Error(`meanOf: metric ${name} is ${typeof v0}, not a number or an array of numbers`);
  }
  for (const [f, m] of metrics.entries()) {
    const extra = Object.keys(m).find((k) => !(k in first));
    if (extra !== undefined) throw new Error(`meanOf: fold ${f} has metric ${extra} that fold 0 lacks`);
  }
  return out as T;
}

function number(v: unknown, name: string, fold: number): number {
  if (typeof v !== 'number') throw new Error(`meanOf: metric ${name} of fold ${fold} is ${typeof v}, not a number`);
  return v;
}
