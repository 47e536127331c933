import { Worker } from 'node:worker_threads';
import { compiledWorkerScript } from '../../paths.js';
import { runUnit } from './replayUnit.js';
import type { ReplayUnit, UnitConfig, UnitProgress, UnitResult } from './replayTypes.js';

/** A failure inside a worker, rebuilt with the worker's message and its unit. */
export class UnitFailedError extends Error {
  constructor(unit: ReplayUnit, name: string, message: string) {
    super(message);
    this.name = name === 'Error' ? 'UnitFailedError' : name;
    this.stack = `${this.name}: ${message}\n    (replay unit ${unit.id}: ${unit.key})`;
  }
}

/**
 * Runs units on `workers` threads (in this thread when 1), largest first so that a big unit does
 * not start last. Results come back indexed by unit id: the order the units finish in never shows
 * in the output.
 */
export async function runUnits(units: ReplayUnit[], config: UnitConfig, workers: number, onProgress: (p: UnitProgress) => void): Promise<UnitResult[]> {
  const results: UnitResult[] = new Array(units.length);
  const queue = [...units].sort((a, b) => b.bytes - a.bytes || a.id - b.id);
  if (workers <= 1 || units.length <= 1) {
    for (const unit of queue) results[unit.id] = await runUnit(unit, config, onProgress);
    return results;
  }
  const script = compiledWorkerScript('streams/replay/replayWorker.js', 'the replay worker');
  const threads = Array.from({ length: Math.min(workers, units.length) }, () => new Worker(script));
  try {
    await Promise.all(
      threads.map(async (thread) => {
        for (let unit = queue.shift(); unit !== undefined; unit = queue.shift()) {
          results[unit.id] = await runOnThread(thread, unit, config, onProgress);
        }
      }),
    );
  } catch (err) {
    queue.length = 0;
    throw err;
  } finally {
    await Promise.all(threads.map((t) => t.terminate()));
  }
  return results;
}

function runOnThread(thread: Worker, unit: ReplayUnit, config: UnitConfig, onProgress: (p: UnitProgress) => void): Promise<UnitResult> {
  return new Promise((resolveUnit, reject) => {
    const onMessage = (msg: { type: string } & Record<string, unknown>) => {
      if (msg.type === 'progress') onProgress(msg as unknown as UnitProgress);
      else {
        cleanup();
        if (msg.type === 'done') resolveUnit(msg.result as UnitResult);
        else reject(new UnitFailedError(unit, String(msg.name), String(msg.message)));
      }
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onExit = (code: number) => {
      cleanup();
      reject(new Error(`replay worker stopped (exit code ${code}) while running unit ${unit.id} (${unit.key})`));
    };
    const cleanup = () => {
      thread.off('message', onMessage);
      thread.off('error', onError);
      thread.off('exit', onExit);
    };
    thread.on('message', onMessage);
    thread.on('error', onError);
    thread.on('exit', onExit);
    thread.postMessage({ unit, config });
  });
}
