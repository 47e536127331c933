import { escapeHtml } from '../backtest/report/format.js';
import type { Evaluation } from './evaluate.js';

/**
 * The objective's part of `barflow evaluate`'s page: its metrics overall and per fold, and for a
 * quantile bundle the coverage chart (each central interval's nominal against observed coverage,
 * overall and per fold) as inline SVG, so the page still makes no request and the same input gives
 * the same bytes.
 */
export function objectiveSections(ev: Evaluation): string {
  if (ev.metrics === null) return '';
  const names = Object.keys(ev.metrics.overall).filter((k) => k !== 'skipped');
  const rows = [{ name: 'overall', metrics: ev.metrics.overall }, ...ev.metrics.perGroup];
  const cell = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '–' : Number.isInteger(v) ? String(v) : Math.abs(v) < 1e-3 ? v.toExponential(3) : v.toFixed(4));
  const table = `<table id="metrics-objective"><thead><tr><th></th>${names.map((n) => `<th>${escapeHtml(n)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr><th>${escapeHtml(r.name)}</th>${names.map((n) => `<td>${cell(r.metrics[n])}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
  const coverage = ev.coverage === null || ev.coverage.length === 0 ? '' : `\n<h3>Coverage</h3>\n<p class="caption">Share of targets inside each central interval: the nominal level (dashed diagonal) against what was observed, overall (large dots) and per fold (small).</p>\n${coverageChart(ev.coverage)}`;
  return `
<section id="objective">
<h2>Objective: ${escapeHtml(ev.objective)}</h2>
${table}${coverage}
</section>`;
}

function coverageChart(coverage: NonNullable<Evaluation['coverage']>): string {
  const size = 320;
  const pad = 40;
  const span = size - 2 * pad;
  const x = (v: number) => (pad + v * span).toFixed(1);
  const y = (v: number) => (size - pad - v * span).toFixed(1);
  const dots = coverage.flatMap((c) => [
    ...c.perGroup.filter((g) => !Number.isNaN(g.observed)).map((g) => `<circle cx="${x(c.nominal)}" cy="${y(g.observed)}" r="2.5" fill="#9ab" />`),
    Number.isNaN(c.observed) ? '' : `<circle cx="${x(c.nominal)}" cy="${y(c.observed)}" r="5" fill="#1f77b4"><title>${escapeHtml(`[${c.levels[0]}, ${c.levels[1]}]: nominal ${(c.nominal * 100).toFixed(0)}%, observed ${(c.observed * 100).toFixed(1)}%`)}</title></circle>`,
  ]);
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((t) => `<text x="${x(t)}" y="${size - pad + 16}" font-size="11" text-anchor="middle">${t}</text><text x="${pad - 6}" y="${y(t)}" font-size="11" text-anchor="end" dominant-baseline="middle">${t}</text>`);
  return `<svg id="chart-coverage" xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 ${size} ${size}"><rect x="${pad}" y="${pad}" width="${span}" height="${span}" fill="none" stroke="#ccc" /><line x1="${x(0)}" y1="${y(0)}" x2="${x(1)}" y2="${y(1)}" stroke="#888" stroke-dasharray="4 3" />${ticks.join('')}${dots.join('')}<text x="${size / 2}" y="${size - 6}" font-size="12" text-anchor="middle">nominal</text><text x="12" y="${size / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 12 ${size / 2})">observed</text></svg>`;
}

/** A page for a bundle without a backtest (no p_up): provenance and the objective's sections. */
export function renderObjectiveReport(ev: Evaluation, title: string): string {
  const p = ev.provenance;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'">
<title>${escapeHtml(title)}</title>
<style>body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; } table { border-collapse: collapse; } th, td { padding: 3px 8px; border-bottom: 1px solid #eee; text-align: right; } .caption { color: #555; }</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<p class="caption">${escapeHtml(`${p.bundle}; ${p.evaluatedOn}; predictions: ${p.predictions}`)}</p>
${ev.note === undefined ? '' : `<p class="caption">${escapeHtml(ev.note)}</p>`}${objectiveSections(ev)}
</body>
</html>
`;
}
