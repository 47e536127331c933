/** Shared by the bench sections: interleaved rounds, median pass, a table per section. */
export interface Case {
  name: string;
  once: () => Promise<number> | number;
}

export interface CaseResult {
  name: string;
  rows: number;
  seconds: number;
  perSecond: number;
}

export const REPEAT = Number(process.env.BENCH_REPEAT ?? 7);

/**
 * Runs the cases of one section interleaved, round after round (A B C A B C …), so that machine
 * noise falls on all of them alike, and reports each case's median pass.
 */
export async function section(title: string, cases: Case[], unit = 'rows'): Promise<CaseResult[]> {
  const passes = new Map<string, { rows: number; seconds: number }[]>(cases.map((c) => [c.name, []]));
  for (const c of cases) await c.once(); // warm-up: JIT and file cache
  for (let round = 0; round < REPEAT; round++) {
    for (const c of cases) {
      const started = performance.now();
      const rows = await c.once();
      passes.get(c.name)!.push({ rows, seconds: (performance.now() - started) / 1000 });
    }
  }
  console.log(`\n${title} (median of ${REPEAT} interleaved passes)`);
  console.log(`${'case'.padEnd(70)} ${`${unit}/pass`.padStart(10)} ${'s/pass'.padStart(8)} ${`${unit}/s`.padStart(10)}`);
  return cases.map((c) => {
    const sorted = passes.get(c.name)!.sort((a, b) => a.seconds - b.seconds);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    const perSecond = Math.round(median.rows / median.seconds);
    console.log(`${c.name.padEnd(70)} ${String(median.rows).padStart(10)} ${median.seconds.toFixed(3).padStart(8)} ${String(perSecond).padStart(10)}`);
    return { name: c.name, rows: median.rows, seconds: median.seconds, perSecond };
  });
}
