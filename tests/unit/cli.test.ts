import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';
import { ROOT, corruptFixture } from '../helpers/files.js';
import { runBarflow } from '../helpers/cli.js';
import { testTempDir } from '../helpers/tempDir.js';

const barflow = (args: string[], cwd = ROOT) => runBarflow(args, { cwd });

function allCommands(cmd = buildProgram(), path: string[] = []): string[][] {
  return cmd.commands.flatMap((c) => [[...path, c.name()], ...allCommands(c, [...path, c.name()])]);
}

describe('barflow CLI', () => {
  it('describes every command and every option in --help', () => {
    const commands = allCommands();
    expect(commands.map((c) => c.join(' '))).toEqual(
      expect.arrayContaining(['demo', 'services up', 'services down', 'services status', 'topology apply', 'validate', 'ingest', 'produce', 'export bars']),
    );
    const walk = (cmd = buildProgram()): void => {
      for (const c of cmd.commands) {
        expect(c.description(), c.name()).not.toBe('');
        for (const o of c.options) expect(o.description, `${c.name()} ${o.flags}`).not.toBe('');
        walk(c);
      }
    };
    walk();
  });

  it('prints help for the program and for a command, exit code 0', async () => {
    const top = await barflow(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toContain('services');
    const ingest = await barflow(['ingest', '--help']);
    expect(ingest.code).toBe(0);
    for (const flag of ['--input', '--symbol', '--layout', '--tz', '--rejects', '--strict', '--questdb']) expect(ingest.stdout).toContain(flag);
  });

  it('validates a corrupted real file: summary by reason, reject file with line and raw text', async () => {
    const { file, expected } = corruptFixture('ES_corrupt');
    const out = testTempDir('cli');
    const rejects = join(out, 'r.jsonl');
    const res = await barflow(['validate', '-i', file, '-s', 'ES', '--rejects', rejects, '--json']);
    expect(res.code).toBe(0);
    const summary = JSON.parse(res.stdout);
    expect(summary.rejects.byReason).toEqual(expected.counts);
    expect(summary.bars).toBe(expected.validRows);
    const lines = readFileSync(rejects, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.line, l.reason])).toEqual(expected.rejects.map((r) => [r.line, r.reason]));
    const rawLines = readFileSync(file, 'utf8').split('\n');
    for (const l of lines) expect(l.raw).toBe(rawLines[l.line - 1]);
  });

  it('--strict exits 1 at the first reject with file, line and reason', async () => {
    const { file, expected } = corruptFixture('BTCUSDT_corrupt');
    const first = expected.rejects[0]!;
    const res = await barflow(['validate', '-i', file, '-s', 'BTCUSDT', '--strict', '--rejects', join(testTempDir('cli'), 'r.jsonl')]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`${file}:${first.line}: rejected (${first.reason})`);
  });

  it('names the problem for bad arguments', async () => {
    expect((await barflow(['validate', '-i', 'nope.csv', '-s', 'X'])).stderr).toContain('input file not found: nope.csv');
    expect((await barflow(['validate', '-i', 'x.csv', '--tz', 'Mars/Base'])).stderr).toContain('unknown time zone');
    expect((await barflow(['validate', '-i', 'x.csv', '-s', 'BAD SYMBOL'])).code).not.toBe(0);
  });
});
