import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { REJECT_REASON_CODES } from '../../bars/rejects.js';

/** Prometheus metrics of one live process (names in docs/live.md). */
export class LiveMetrics {
  readonly registry = new Registry();
  readonly barsIn = new Counter({ name: 'barflow_live_messages_in_total', help: 'messages read from the bar topic (bars, watermarks and rejects)', registers: [this.registry] });
  readonly rowsOut = new Counter({ name: 'barflow_live_feature_rows_total', help: 'feature rows produced', registers: [this.registry] });
  readonly predictionsOut = new Counter({ name: 'barflow_live_predictions_total', help: 'predictions produced', registers: [this.registry] });
  readonly fallbacks = new Counter({ name: 'barflow_live_fallback_predictions_total', help: 'predictions made by the fallback bundle, by reason (error: the primary failed; non_finite: it gave no finite p_up)', labelNames: ['reason'], registers: [this.registry] });
  readonly rejects = new Counter({ name: 'barflow_live_rejects_total', help: 'messages refused, by reason (sent to the dead-letter topic)', labelNames: ['reason'], registers: [this.registry] });
  readonly duplicates = new Counter({ name: 'barflow_live_duplicates_total', help: 'exact duplicate bars dropped', registers: [this.registry] });
  readonly skipped = new Counter({ name: 'barflow_live_replayed_skipped_total', help: 'messages re-delivered after a restore that the restored state already covered', registers: [this.registry] });
  readonly lag = new Gauge({ name: 'barflow_live_consumer_lag', help: 'messages behind the end of each bar partition, at the last batch', labelNames: ['partition'], registers: [this.registry] });
  readonly barSeconds = new Histogram({
    name: 'barflow_live_bar_processing_seconds',
    help: 'time to decode, validate and compute the features of one message',
    buckets: [1e-6, 2e-6, 5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 5e-3],
    registers: [this.registry],
  });
  readonly endToEndSeconds = new Histogram({
    name: 'barflow_live_end_to_end_seconds',
    help: 'from the bar message timestamp to its feature row acknowledged by the broker',
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30],
    registers: [this.registry],
  });
  readonly commits = new Counter({ name: 'barflow_live_commits_total', help: 'checkpoints: snapshots written and offsets committed', registers: [this.registry] });
  readonly restores = new Counter({ name: 'barflow_live_restored_symbols_total', help: 'symbol states restored from the state topic', registers: [this.registry] });
  readonly assigned = new Gauge({ name: 'barflow_live_assigned_partitions', help: 'bar partitions this process owns', registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'barflow_' });
    for (const reason of REJECT_REASON_CODES) this.rejects.inc({ reason }, 0);
  }
}

export interface HealthProbe {
  /** Alive: the process runs its loop (false only once it has given up). */
  healthy(): boolean;
  /** Ready: in the group, partitions restored, connected to its outputs. */
  ready(): boolean;
  describe(): Record<string, unknown>;
}

/** /metrics (Prometheus text), /health and /ready (200 or 503, with a JSON body). */
export async function serveMetrics(metrics: LiveMetrics, probe: HealthProbe, host: string, port: number): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': metrics.registry.contentType });
          res.end(text);
        },
        (err: Error) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(err.message);
        },
      );
      return;
    }
    if (path === '/health' || path === '/ready') {
      const ok = path === '/health' ? probe.healthy() : probe.ready();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: ok ? 'ok' : 'unavailable', ...probe.describe() }));
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found: try /metrics, /health or /ready\n');
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', (err) => reject(new Error(`metrics server cannot listen on ${host}:${port}: ${err.message}`)));
    server.listen(port, host, () => resolveListen());
  });
  const address = server.address() as AddressInfo;
  return { server, url: `http://${host}:${address.port}` };
}
