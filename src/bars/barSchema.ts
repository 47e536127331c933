import { z } from 'zod';
import type { Bar } from './bar.js';
import { checkBarValues } from './validation.js';

/**
 * zod schema of a Bar for library callers that hand barflow bars built elsewhere: the same rules
 * and reason codes as files and messages (the issue's `params.reason` carries the code). The CSV
 * reader does not run it per row: it parses text with its own code, which is what yields each
 * reason code, at a fraction of the cost.
 */
// Any JS number, NaN and infinities included, so that those reach the rules and get their own
// reason code (z.number() would refuse them with a generic type error).
const anyNumber = z.custom<number>((v) => typeof v === 'number', 'expected a number');

export const BarSchema: z.ZodType<Bar> = z
  .object({
    symbol: z.string(),
    ts: anyNumber,
    open: anyNumber,
    high: anyNumber,
    low: anyNumber,
    close: anyNumber,
    volume: anyNumber,
  })
  .superRefine((bar, ctx) => {
    const violation = checkBarValues(bar);
    if (violation) ctx.addIssue({ code: 'custom', message: `${violation.reason}: ${violation.detail}`, params: { reason: violation.reason } });
  });
