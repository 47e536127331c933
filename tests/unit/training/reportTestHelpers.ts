import { expect } from 'vitest';
import type { ReportData } from '../../../src/training/backtest/report/reportData.js';

/** What the HTML report tests read back from a page. */

export function dataOf(html: string): { raw: string; data: ReportData } {
  const m = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html);
  expect(m, 'the data script element').not.toBeNull();
  const raw = m![1]!;
  return { raw, data: JSON.parse(raw) as ReportData };
}

/** The text of the value cell of one row of the overall metrics table. */
export function overallCell(html: string, metric: string): string {
  const m = new RegExp(`<tr data-metric="${metric}"><th scope="row">[^<]*</th><td class="num">([^<]*)</td>`).exec(html);
  expect(m, `row ${metric}`).not.toBeNull();
  return m![1]!;
}

/** What the page must not hold: a URL outside it (but uPlot's banner), a request API, a policy that allows one. */
export function expectSelfContained(html: string): void {
  // No attribute with a URL other than a fragment; no CSS url()/@import; no request API.
  const attrs = [...html.matchAll(/\b(?:src|href|action|poster|srcset|formaction)\s*=\s*["']?([^"'\s>]*)/gi)].map((m) => m[1]!);
  for (const a of attrs) expect(a, `attribute value ${a}`).toMatch(/^(#|$)/);
  expect(html).not.toMatch(/url\s*\(/i);
  expect(html).not.toMatch(/@import/i);
  expect(html).not.toMatch(/\bfetch\s*\(|XMLHttpRequest|WebSocket|EventSource|sendBeacon|importScripts|\bimport\s*\(/);
  // The only URL text is uPlot's licence banner comment.
  const urls = [...html.matchAll(/(?:https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}[^\s"'<>)]*/gi)].map((m) => m[0]);
  expect(urls).toEqual(['https://github.com/leeoniya/uPlot']);
  expect(html).toContain('/*! https://github.com/leeoniya/uPlot (v');
  // And a policy that forbids any request should something try one anyway.
  expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none';`);
}

export function minOf(a: ArrayLike<number | null>): number {
  let m = Infinity;
  for (let i = 0; i < a.length; i++) if (a[i] !== null && a[i]! < m) m = a[i]!;
  return m;
}

export function maxOf(a: ArrayLike<number | null>): number {
  let m = -Infinity;
  for (let i = 0; i < a.length; i++) if (a[i] !== null && a[i]! > m) m = a[i]!;
  return m;
}
