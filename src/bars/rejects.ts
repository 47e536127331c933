/**
 * Every way an input bar can be refused, each with its own code. The codes are part of the public
 * contract: they appear in reject files, in the dead-letter topic and in metrics labels.
 */
export const REJECT_REASONS = {
  malformed_record: 'the record could not be split into its fields (CSV column count, or a message that is not a JSON object of the bar schema)',
  unparsable_field: 'a field is empty or is not a number / timestamp of an accepted form',
  non_finite: 'a numeric field is NaN or infinite (including overflow such as 1e999)',
  nonexistent_local_time: 'a naive local timestamp falls in a daylight-saving gap of --tz',
  unknown_symbol_format: 'the symbol is empty or has characters outside [A-Za-z0-9._-/:=^]',
  ts_out_of_range: 'the timestamp is not after 1970-01-01T00:00Z and before 2200 (a zero, truncated or mis-scaled epoch value)',
  ts_not_minute_aligned: 'the timestamp is not on a whole minute (bars are stamped at their open minute)',
  high_below_low: 'high < low',
  open_outside_range: 'open is outside [low, high]',
  close_outside_range: 'close is outside [low, high]',
  negative_volume: 'volume < 0',
  duplicate: 'an identical copy of the previous bar of the symbol (same timestamp, same values)',
  conflicting_duplicate: 'the same timestamp as the previous bar of the symbol with different values',
  ts_not_increasing: 'the timestamp is earlier than the previous bar of the symbol',
  late: 'a message whose bar is older than the last bar the live topology processed for its symbol, or opens before its latest watermark',
  oversized_message: 'a message value larger than the live topology accepts (maxMessageBytes)',
} as const;

export type RejectReason = keyof typeof REJECT_REASONS;

export const REJECT_REASON_CODES = Object.keys(REJECT_REASONS) as RejectReason[];

/** A broken rule: its code and, for people, what exactly is wrong. */
export interface Violation {
  reason: RejectReason;
  detail: string;
}

/** Why one input record was refused, with enough context to find and fix it. */
export interface Reject {
  /** File path, or `topic:partition` for messages. */
  source: string;
  /** 1-based line in the file (physical line where the record starts). */
  line?: number;
  partition?: number;
  offset?: string;
  reason: RejectReason;
  detail: string;
  /** The original text of the record, unchanged. */
  raw: string;
}

/** Thrown instead of writing a reject when the caller asked for `--strict`. */
export class StrictRejectError extends Error {
  constructor(readonly reject: Reject) {
    const where = reject.line !== undefined ? `${reject.source}:${reject.line}` : reject.source;
    super(`${where}: rejected (${reject.reason}): ${reject.detail}\n  raw: ${reject.raw}`);
    this.name = 'StrictRejectError';
  }
}

/** Per-reason counters, kept in code order so summaries print stably. */
export class RejectCounts {
  private readonly counts = new Map<RejectReason, number>();
  total = 0;

  add(reason: RejectReason): void {
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + 1);
    this.total++;
  }

  get(reason: RejectReason): number {
    return this.counts.get(reason) ?? 0;
  }

  toJSON(): Partial<Record<RejectReason, number>> {
    const out: Partial<Record<RejectReason, number>> = {};
    for (const code of REJECT_REASON_CODES) {
      const n = this.counts.get(code);
      if (n) out[code] = n;
    }
    return out;
  }
}
