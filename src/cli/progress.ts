import cliProgress from 'cli-progress';

/** Progress is drawn only for a person watching: a terminal on stderr, not CI, not --quiet. */
export function progressWanted(quiet = false): boolean {
  return !quiet && Boolean(process.stderr.isTTY) && !process.env.CI;
}

/**
 * A byte-based progress bar over one input file that also shows rows and rows per second;
 * cli-progress computes the ETA. A no-op when progress is not wanted.
 */
export class FileProgress {
  private readonly bar: cliProgress.SingleBar | null;
  private readonly startedAt = performance.now();

  constructor(label: string, totalBytes: number, enabled: boolean) {
    this.bar = enabled
      ? new cliProgress.SingleBar(
          {
            format: `${label} {bar} {percentage}% | {rows} rows | {rate} rows/s | ETA {eta_formatted}`,
            stream: process.stderr,
            hideCursor: true,
            clearOnComplete: true,
            etaBuffer: 50,
          },
          cliProgress.Presets.shades_classic,
        )
      : null;
    this.bar?.start(Math.max(1, totalBytes), 0, { rows: 0, rate: 0 });
  }

  update(bytes: number, rows: number): void {
    if (!this.bar) return;
    const seconds = (performance.now() - this.startedAt) / 1000;
    this.bar.update(bytes, { rows, rate: seconds > 0 ? Math.round(rows / seconds) : 0 });
  }

  stop(): void {
    this.bar?.stop();
  }
}
