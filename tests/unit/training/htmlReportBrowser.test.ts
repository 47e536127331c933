import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, type BrowserContext, type Page, chromium } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { type ClassificationReport, renderBacktestReport } from '../../../src/training/backtest/report/htmlReport.js';
import { CLASSIFICATION_COLORS, REPORT_COLORS } from '../../../src/training/backtest/report/reportData.js';
import { classificationMetrics, reliabilityTable } from '../../../src/training/evaluation/classificationMetrics.js';
import { makeBacktestResult, makeTwoSymbolResult, mulberry32 } from './backtestReportFixture.js';

/**
 * The report in a real browser: Debian's Chromium, headless, every request that is not the report
 * file itself aborted and recorded. The page must draw its four charts (uPlot canvases with pixels of
 * each series' colour across the plot) with no console error, no page error and no request.
 * With classification the page draws a fifth chart, the reliability diagram (its points and its
 * dashed diagonal on the canvas, the bin's count in the legend under the cursor).
 * The full-page screenshots go to $BARFLOW_REPORT_SCREENSHOT_DIR (kept), else a fresh temp folder
 * (removed after the file's tests).
 */

const CHROMIUM = process.env.BARFLOW_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

interface CanvasCheck {
  id: string;
  canvases: number;
  width: number;
  height: number;
  /** Pixels (alpha ≥ 64) within a small distance of each colour asked for. */
  counts: number[];
  /** Share of the canvas's pixel columns holding the first colour. */
  coverage: number;
  /** The same for each colour asked for. */
  coverages: number[];
  /** The first and last pixel column holding each colour (−1 when none). */
  extents: [number, number][];
}

let browser: Browser | undefined;
let shotDir: string | undefined;

/** Where the pages and screenshots go: one folder for the whole file. */
function screenshotDir(): string {
  shotDir ??= process.env.BARFLOW_REPORT_SCREENSHOT_DIR ?? mkdtempSync(join(tmpdir(), 'barflow-report-'));
  mkdirSync(shotDir, { recursive: true });
  return shotDir;
}

/** Fails (never skips) without Chromium, saying how to get it. */
async function launch(): Promise<Browser> {
  if (browser) return browser;
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: the HTML report's browser test needs Debian's Chromium. Install it with ` +
        '`sudo apt-get install -y chromium` (or run scripts/ensure-chromium.sh as root), or point BARFLOW_CHROMIUM at a Chromium binary.',
    );
  }
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, timeout: 30_000 });
  return browser;
}

afterAll(async () => {
  await browser?.close();
  // A folder of our own in the test run's temporary root is removed (tests/setup/tempRoot.ts checks);
  // one named by BARFLOW_REPORT_SCREENSHOT_DIR is kept for looking at.
  if (shotDir !== undefined && process.env.BARFLOW_REPORT_SCREENSHOT_DIR === undefined) rmSync(shotDir, { recursive: true, force: true });
});

describe('the HTML report in headless Chromium', { timeout: 60_000 }, () => {
  it('draws the four charts offline, with no error and no request', async () => {
    const started = performance.now();
    const b = await launch();
    const dir = screenshotDir();
    const result = makeBacktestResult();
    const file = join(dir, 'report.html');
    writeFileSync(file, renderBacktestReport(result, { title: 'BTCUSDT sign model (synthetic)' }));
    const url = pathToFileURL(file).href;

    const context = await b.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1, offline: true });
    const outside: string[] = [];
    const errors: string[] = [];
    await context.route('**/*', async (route) => {
      const u = route.request().url();
      if (u === url) return route.continue();
      outside.push(u);
      return route.abort('blockedbyclient');
    });
    const page = await context.newPage();
    page.on('request', (req) => {
      if (req.url() !== url && !req.url().startsWith('data:')) outside.push(req.url());
    });
    page.on('websocket', (ws) => outside.push(ws.url()));
    page.on('console', (msg) => {
      if (msg.type() === 'error' || msg.type() === 'warning') errors.push(`console.${msg.type()}: ${msg.text()}`);
    });
    page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));

    await page.goto(url, { waitUntil: 'load' });
    await page.waitForSelector('body[data-charts-ready]', { timeout: 15_000 });
    expect(await page.locator('body').getAttribute('data-charts-ready')).toBe('4');
    expect(await page.locator('body').getAttribute('data-charts-expected')).toBe('4');

    const shot = join(dir, 'report.png');
    const png = await page.screenshot({ path: shot, fullPage: true });
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    console.log(`backtest report screenshot: ${shot} (page: ${file})`);

    const C = REPORT_COLORS;
    const wanted: [string, string[]][] = [
      ['chart-equity', [C.overall, ...C.groups.slice(0, 3)]],
      ['chart-drawdown', [C.drawdown]],
      ['chart-returns', [C.returns, C.normal]],
      ['chart-groups', [C.groupBars]],
    ];
    const checks: CanvasCheck[] = [];
    for (const [id, colors] of wanted) {
      await page.locator(`#${id}`).screenshot({ path: join(dir, `${id}.png`) });
      checks.push(await page.evaluate(countColours, { id, colors }));
    }
    const byId = new Map(checks.map((c) => [c.id, c]));
    for (const c of checks) {
      expect(c.canvases, `${c.id}: one uPlot canvas`).toBe(1);
      expect(c.width, `${c.id}: canvas width`).toBeGreaterThan(600);
      expect(c.height, `${c.id}: canvas height`).toBeGreaterThan(150);
    }
    const eq = byId.get('chart-equity')!;
    expect(eq.counts[0], 'equity: pixels of the overall line').toBeGreaterThan(1_000);
    expect(eq.coverage, 'equity: the overall line runs across the plot').toBeGreaterThan(0.75);
    for (let g = 1; g <= 3; g++) expect(eq.counts[g], `equity: pixels of fold ${g}'s line`).toBeGreaterThan(100);
    const dd = byId.get('chart-drawdown')!;
    expect(dd.counts[0], 'drawdown: line and area').toBeGreaterThan(5_000);
    expect(dd.coverage).toBeGreaterThan(0.75);
    const ret = byId.get('chart-returns')!;
    expect(ret.counts[0], 'returns: histogram bars').toBeGreaterThan(5_000);
    expect(ret.coverage).toBeGreaterThan(0.2);
    expect(ret.counts[1], 'returns: normal curve').toBeGreaterThan(100);
    const gr = byId.get('chart-groups')!;
    expect(gr.counts[0], 'groups: bars and mean line').toBeGreaterThan(5_000);

    // The tables are there and readable.
    await expect(page.locator('#metrics-overall tbody tr').count()).resolves.toBe(15);
    await expect(page.locator('#metrics-groups tbody tr').count()).resolves.toBe(3);
    await expect(page.locator('#metrics-groups tfoot tr').count()).resolves.toBe(2);
    // uPlot's legends name the series.
    const legend = await page.locator('#chart-equity .u-legend').innerText();
    for (const name of ['all out-of-sample periods', 'fold 1', 'fold 2', 'fold 3']) expect(legend).toContain(name);

    expect(outside, 'requests that left the page').toEqual([]);
    expect(errors, 'console and page errors').toEqual([]);
    await context.close();
    const summary = checks.map((c) => `${c.id} ${c.width}×${c.height} [${c.counts.join(', ')}] px, ${Math.round(c.coverage * 100)} % columns`);
    console.log(`browser check took ${Math.round(performance.now() - started)} ms; ${summary.join('; ')}`);
  });
});

/** Seeded predictions of a slightly over-confident model, in three folds (as in htmlReport.test.ts). */
function makeClassification(n = 6_000, seed = 11): ClassificationReport {
  const rand = mulberry32(seed);
  const p: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const z = 1.4 * Math.sqrt(-2 * Math.log(Math.max(rand(), 1e-12))) * Math.cos(2 * Math.PI * rand());
    p.push(1 / (1 + Math.exp(-z)));
    y.push(rand() < 1 / (1 + Math.exp(-(0.7 * z + 0.1))) ? 1 : 0);
  }
  const third = Math.ceil(n / 3);
  const perGroup = [0, 1, 2].map((g) => ({
    name: `fold ${g + 1}`,
    metrics: classificationMetrics(p.slice(g * third, (g + 1) * third), y.slice(g * third, (g + 1) * third)),
  }));
  return { title: 'calibrated, out of sample', overall: classificationMetrics(p, y), perGroup, reliability: reliabilityTable(p, y, 10) };
}

/** A page on `file` in an offline context: every other request aborted and recorded, console errors and warnings recorded. */
async function openOffline(b: Browser, file: string): Promise<{ context: BrowserContext; page: Page; outside: string[]; errors: string[] }> {
  const url = pathToFileURL(file).href;
  const context = await b.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1, offline: true });
  const outside: string[] = [];
  const errors: string[] = [];
  await context.route('**/*', async (route) => {
    const u = route.request().url();
    if (u === url) return route.continue();
    outside.push(u);
    return route.abort('blockedbyclient');
  });
  const page = await context.newPage();
  page.on('request', (req) => {
    if (req.url() !== url && !req.url().startsWith('data:')) outside.push(req.url());
  });
  page.on('websocket', (ws) => outside.push(ws.url()));
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warning') errors.push(`console.${msg.type()}: ${msg.text()}`);
  });
  page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
  await page.goto(url, { waitUntil: 'load' });
  return { context, page, outside, errors };
}

describe('the HTML report with classification in headless Chromium', { timeout: 60_000 }, () => {
  it('draws five charts, the reliability diagram with its points and its diagonal', async () => {
    const b = await launch();
    const dir = screenshotDir();
    const c = makeClassification();
    const file = join(dir, 'report-classification.html');
    writeFileSync(file, renderBacktestReport(makeBacktestResult(), { title: 'BTCUSDT sign model (synthetic)', classification: c }));
    const { context, page, outside, errors } = await openOffline(b, file);

    await page.waitForSelector('body[data-charts-ready]', { timeout: 15_000 });
    expect(await page.locator('body').getAttribute('data-charts-ready')).toBe('5');
    expect(await page.locator('body').getAttribute('data-charts-expected')).toBe('5');

    const shot = join(dir, 'report-classification.png');
    const png = await page.screenshot({ path: shot, fullPage: true });
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    console.log(`backtest report with classification, screenshot: ${shot} (page: ${file})`);
    await page.locator('#chart-reliability').screenshot({ path: join(dir, 'chart-reliability.png') });

    const K = CLASSIFICATION_COLORS;
    // One readback per canvas (Chromium warns on several).
    const rel = await page.evaluate(countColours, { id: 'chart-reliability', colors: [K.points, K.diagonal] });
    expect(rel.canvases, 'reliability: one uPlot canvas').toBe(1);
    expect(rel.width, 'reliability: canvas width').toBeGreaterThan(300);
    expect(rel.height, 'reliability: canvas height').toBeGreaterThan(300);
    expect(rel.counts[0], 'reliability: pixels of the points and the line through them').toBeGreaterThan(1_000);
    // Predictions from about 0.05 to 0.95: the points span most of the plot's width.
    expect(rel.coverage, 'reliability: the points run across the plot').toBeGreaterThan(0.5);
    expect(rel.counts[1], 'reliability: pixels of the dashed diagonal').toBeGreaterThan(300);
    expect(rel.coverages[1], 'reliability: the diagonal runs from corner to corner').toBeGreaterThan(0.4);
    // The four backtest charts are drawn as before.
    const eq = await page.evaluate(countColours, { id: 'chart-equity', colors: [REPORT_COLORS.overall] });
    expect(eq.counts[0], 'equity: pixels of the overall line').toBeGreaterThan(1_000);

    // Tables: overall and three folds; ten bins.
    await expect(page.locator('#metrics-classification tbody tr').count()).resolves.toBe(4);
    await expect(page.locator('#reliability-bins tbody tr').count()).resolves.toBe(10);
    expect(await page.locator('#metrics-classification tbody tr').first().innerText()).toContain('overall');
    // The legend names the series; under the cursor it gives the bin's count.
    const legend = page.locator('#chart-reliability .u-legend');
    for (const name of ['mean predicted probability', 'observed frequency', 'perfectly calibrated (y = x)']) await expect(legend.innerText()).resolves.toContain(name);
    await page.locator('#chart-reliability .u-over').hover();
    const hovered = await legend.innerText();
    expect(hovered).toMatch(/\d\.\d{3} \(bin 0\.\d+–0\.\d+\)/);
    expect(hovered).toMatch(/\d\.\d{3} · [\d,]+ predictions/);

    expect(outside, 'requests that left the page').toEqual([]);
    expect(errors, 'console and page errors').toEqual([]);
    await context.close();
    console.log(`reliability ${rel.width}×${rel.height}: points ${rel.counts[0]} px (${Math.round(rel.coverage * 100)} % columns), diagonal ${rel.counts[1]} px (${Math.round(rel.coverages[1]! * 100)} % columns); legend under the cursor: ${hovered.replace(/\s+/g, ' ')}`);
  });
});

describe('the HTML report of two symbols six months apart in headless Chromium', { timeout: 60_000 }, () => {
  it('draws one equity line per symbol, side by side on the axis of periods, with the gap marked between them', async () => {
    const b = await launch();
    const dir = screenshotDir();
    // BTCUSDT in March (4,319 periods), ES in September (4,139): about half the axis each.
    const result = makeTwoSymbolResult();
    const file = join(dir, 'report-symbols.html');
    writeFileSync(file, renderBacktestReport(result, { title: 'BTCUSDT + ES (synthetic, six months apart)' }));
    const { context, page, outside, errors } = await openOffline(b, file);

    await page.waitForSelector('body[data-charts-ready]', { timeout: 15_000 });
    // Equity, drawdown, returns (no folds).
    expect(await page.locator('body').getAttribute('data-charts-ready')).toBe('3');
    const shot = join(dir, 'report-symbols.png');
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`backtest report of two symbols, screenshot: ${shot} (page: ${file})`);
    await page.locator('#chart-equity').screenshot({ path: join(dir, 'chart-equity-symbols.png') });

    const C = REPORT_COLORS;
    const eq = await page.evaluate(countColours, { id: 'chart-equity', colors: [C.overall, C.symbols[0], C.symbols[1], C.gap] });
    const [, btc, es, gap] = eq.extents as [[number, number], [number, number], [number, number], [number, number]];
    expect(eq.counts[0], 'equity: pixels of the portfolio line').toBeGreaterThan(1_000);
    expect(eq.coverage, 'equity: the portfolio line runs across the plot').toBeGreaterThan(0.75);
    expect(eq.counts[1], 'equity: pixels of the BTCUSDT line').toBeGreaterThan(500);
    expect(eq.counts[2], 'equity: pixels of the ES line').toBeGreaterThan(500);
    // On a time axis BTCUSDT's three days would be 1.5 % of the width; on the axis of periods each
    // symbol gets its share of the periods, BTCUSDT on the left, ES on the right, and neither
    // line crosses into the other's part.
    for (const k of [1, 2]) {
      expect(eq.coverages[k], `equity: columns of symbol ${k}'s line`).toBeGreaterThan(0.35);
      expect(eq.coverages[k]).toBeLessThan(0.6);
    }
    expect(btc[1], 'BTCUSDT ends where ES starts').toBeLessThanOrEqual(es[0] + 4);
    expect(es[0] - btc[1]).toBeLessThan(8);
    // The gap's dashed line (and its label, right of it) between them.
    expect(eq.counts[3], 'equity: pixels of the gap marker').toBeGreaterThan(60);
    expect(Math.abs(gap[0] - btc[1]), 'the gap marker sits between the two symbols').toBeLessThan(8);

    // The legend names every line and, under the cursor, the period's UTC time.
    const legend = page.locator('#chart-equity .u-legend');
    for (const name of ['out of sample', 'BTCUSDT', 'ES']) await expect(legend.innerText()).resolves.toContain(name);
    const over = page.locator('#chart-equity .u-over');
    const box = (await over.boundingBox())!;
    await over.hover({ position: { x: box.width * 0.25, y: box.height / 2 } });
    expect(await legend.innerText()).toMatch(/2023-03-1\d \d\d:\d\d · period \d+/);
    await over.hover({ position: { x: box.width * 0.75, y: box.height / 2 } });
    expect(await legend.innerText()).toMatch(/2023-09-2\d \d\d:\d\d · period \d+/);
    await expect(page.locator('#metrics-symbols tbody tr').count()).resolves.toBe(3);

    expect(outside, 'requests that left the page').toEqual([]);
    expect(errors, 'console and page errors').toEqual([]);
    await context.close();
    console.log(`two symbols: BTCUSDT columns ${btc.join('–')}, ES ${es.join('–')}, gap marker ${gap.join('–')} of ${eq.width}`);
  });
});

// The few DOM types the page function uses (the project compiles without lib "dom").
interface PageCanvas {
  width: number;
  height: number;
  getContext(kind: '2d'): {
    fillStyle: string;
    fillRect(x: number, y: number, w: number, h: number): void;
    getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
  } | null;
}
interface PageDocument {
  createElement(tag: 'canvas'): PageCanvas;
  querySelectorAll(selector: string): ArrayLike<PageCanvas>;
}

/** Runs in the page: counts the pixels of each colour on the chart's canvas. */
function countColours({ id, colors }: { id: string; colors: string[] }): CanvasCheck {
  const doc = (globalThis as unknown as { document: PageDocument }).document;
  const rgbOf = (css: string): [number, number, number] => {
    const c = doc.createElement('canvas');
    c.width = 1;
    c.height = 1;
    const x = c.getContext('2d')!;
    x.fillStyle = css;
    x.fillRect(0, 0, 1, 1);
    const d = x.getImageData(0, 0, 1, 1).data;
    return [d[0]!, d[1]!, d[2]!];
  };
  const canvases = doc.querySelectorAll(`#${id} canvas`);
  const canvas = canvases[0];
  if (!canvas) return { id, canvases: 0, width: 0, height: 0, counts: colors.map(() => 0), coverage: 0, coverages: colors.map(() => 0), extents: colors.map((): [number, number] => [-1, -1]) };
  const { width, height } = canvas;
  const px = canvas.getContext('2d')!.getImageData(0, 0, width, height).data;
  const targets = colors.map(rgbOf);
  const counts = targets.map(() => 0);
  const columns = targets.map(() => new Uint8Array(width));
  for (let i = 0; i < px.length; i += 4) {
    if (px[i + 3]! < 64) continue;
    for (let t = 0; t < targets.length; t++) {
      const [r, g, b] = targets[t]!;
      if (Math.abs(px[i]! - r) + Math.abs(px[i + 1]! - g) + Math.abs(px[i + 2]! - b) <= 60) {
        counts[t]!++;
        columns[t]![(i / 4) % width] = 1;
      }
    }
  }
  const coverages = columns.map((cols) => {
    let covered = 0;
    for (const c of cols) covered += c;
    return covered / width;
  });
  const extents = columns.map((cols): [number, number] => [cols.indexOf(1), cols.lastIndexOf(1)]);
  return { id, canvases: canvases.length, width, height, counts, coverage: coverages[0]!, coverages, extents };
}
