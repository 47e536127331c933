import { parentPort } from 'node:worker_threads';
import { runUnit } from './replayUnit.js';
import type { ReplayUnit, UnitConfig } from './replayTypes.js';

// Entry point of a replay worker thread: runs the units it is sent, one at a time, and reports
// progress, results and failures to the pool.
if (parentPort === null) throw new Error('replayWorker must run in a worker thread');
const port = parentPort;
port.on('message', (msg: { unit: ReplayUnit; config: UnitConfig }) => {
  runUnit(msg.unit, msg.config, (p) => port.postMessage({ type: 'progress', ...p })).then(
    (result) => port.postMessage({ type: 'done', result }),
    (err: unknown) => {
      const e = err instanceof Error ? err : new Error(String(err));
      port.postMessage({ type: 'error', name: e.name, message: e.message, stack: e.stack });
    },
  );
});
