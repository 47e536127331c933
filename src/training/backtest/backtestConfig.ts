import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/**
 * How predictions become positions and what trading costs. Costs and slippage live here, never in
 * the labels. Capital is split equally across the symbols; a symbol's position is a fraction of its
 * share, within ±maxPosition.
 */
export const BacktestConfigSchema = z
  .object({
    signal: z.string().default('p_up').describe('predictions column the positions come from'),
    rule: z.enum(['threshold', 'proportional']).default('threshold').describe('threshold: ±maxPosition beyond long/short levels, else flat; proportional: (value − center) × scale, clipped'),
    center: z.number().default(0.5).describe('signal value meaning no view (0.5 for p_up, 0 for an expected return)'),
    long: z.number().optional().describe('threshold rule: go long above this [center + 0.05]'),
    short: z.number().optional().describe('threshold rule: go short below this [center − 0.05]'),
    scale: z.number().positive().default(10).describe('proportional rule: position per unit of (value − center)'),
    maxPosition: z.number().positive().max(100).default(1).describe('position limit per symbol, in units of its capital share'),
    costBps: z.number().nonnegative().default(1).describe('commission per side, basis points of the traded notional'),
    slippageBps: z.number().nonnegative().default(1).describe('slippage per side, basis points of the traded notional'),
    delayBars: z.number().int().nonnegative().default(1).describe('bars between the signal (at its bar\'s close) and the fill (at a later close)'),
    close: z.string().default('close_1m').describe('dataset column of the price the returns and fills use'),
    periodsPerYear: z.number().positive().optional().describe('annualisation [estimated: periods / years in which some symbol had rows]'),
  })
  .strict()
  .superRefine((c, ctx) => {
    const long = c.long ?? c.center + 0.05;
    const short = c.short ?? c.center - 0.05;
    if (c.rule === 'threshold' && !(short <= c.center && c.center <= long)) ctx.addIssue({ code: 'custom', path: ['long'], message: `need short ≤ center ≤ long (got ${short}, ${c.center}, ${long})` });
  });

export type BacktestConfig = z.infer<typeof BacktestConfigSchema>;

export function parseBacktestConfig(doc: unknown, source: string): BacktestConfig {
  const parsed = BacktestConfigSchema.safeParse(doc ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${source}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data;
}

export function readBacktestConfig(path: string | undefined): BacktestConfig {
  if (path === undefined) return parseBacktestConfig({}, 'defaults');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read the backtest config ${path}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new Error(`${path}: not valid YAML: ${(err as Error).message}`);
  }
  return parseBacktestConfig(doc, path);
}

/** The target position for one signal value (NaN: no prediction, flat). */
export function targetPosition(c: BacktestConfig, v: number): number {
  if (Number.isNaN(v)) return 0;
  if (c.rule === 'threshold') {
    if (v > (c.long ?? c.center + 0.05)) return c.maxPosition;
    if (v < (c.short ?? c.center - 0.05)) return -c.maxPosition;
    return 0;
  }
  return Math.max(-c.maxPosition, Math.min(c.maxPosition, (v - c.center) * c.scale));
}
