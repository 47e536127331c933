import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { modelView } from '../../training/views/modelView.js';
import { type BundleManifest, BundleManifestSchema, manifestSchemaFor } from './bundleManifest.js';

/** A bundle read from disk, every file checked against the manifest. */
export interface LoadedBundle {
  dir: string;
  manifest: BundleManifest;
  /** The bytes of a listed file. */
  file(path: string): Uint8Array;
  json<T>(path: string): T;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/**
 * Writes a bundle atomically: files into `<dir>.tmp-<pid>`, the manifest last with the sha256 of
 * every file, then one rename. An existing bundle at `dir` is replaced only when the new one is
 * complete.
 */
export function writeBundle(dir: string, manifest: Omit<BundleManifest, 'files'>, files: Map<string, Uint8Array>): BundleManifest {
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  const listed: Record<string, string> = {};
  for (const [path, bytes] of [...files.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (path === 'manifest.json' || path.split('/').includes('..') || path.startsWith('/')) throw new Error(`bundle file name ${path} is not allowed`);
    mkdirSync(dirname(join(tmp, path)), { recursive: true });
    writeFileSync(join(tmp, path), bytes);
    listed[path] = sha256(bytes);
  }
  const full = BundleManifestSchema.parse({ ...manifest, files: listed });
  for (const ref of referencedFiles(full)) if (!(ref in listed)) throw new Error(`bundle manifest names ${ref}, which is not among the files written`);
  writeFileSync(join(tmp, 'manifest.json'), `${JSON.stringify(full, null, 2)}\n`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dirname(dir), { recursive: true });
  renameSync(tmp, dir);
  return full;
}

function referencedFiles(m: BundleManifest): string[] {
  const members = (m.model.members ?? []).flatMap((x) => [...x.files, x.scaler]);
  const regime = m.regime === undefined ? [] : [m.regime.file];
  const bases = (m.ensemble?.bases ?? []).map((b) => `${b.dir}/manifest.json`);
  return [...m.model.files, m.features.file, m.scaler, m.calibrator, m.metrics, m.training.config, ...members, ...regime, ...bases];
}

/**
 * The files of a bundle nested in another (an ensemble's base): its own manifest, with the sha256
 * of its files, beside them under `prefix`, so it opens on its own and its parent lists every byte.
 */
export function nestedBundleFiles(prefix: string, manifest: Omit<BundleManifest, 'files'>, files: Map<string, Uint8Array>): Map<string, Uint8Array> {
  const listed: Record<string, string> = {};
  for (const [path, bytes] of [...files.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) listed[path] = sha256(bytes);
  const full = BundleManifestSchema.parse({ ...manifest, files: listed });
  for (const ref of referencedFiles(full)) if (!(ref in listed)) throw new Error(`bundle manifest names ${ref}, which is not among the files written`);
  const out = new Map<string, Uint8Array>();
  for (const [path, bytes] of files) out.set(`${prefix}/${path}`, bytes);
  out.set(`${prefix}/manifest.json`, Buffer.from(`${JSON.stringify(full, null, 2)}\n`));
  return out;
}

/**
 * Opens a bundle and refuses it, with the reason, when: the manifest is not a valid bundle
 * manifest; a listed file is missing or its sha256 differs (tampered); a file not listed is
 * present; or, given `expectSchemaHash`, the bundle was built for another feature set.
 */
export function loadBundle(dir: string, expectSchemaHash?: string): LoadedBundle {
  const manifestPath = join(dir, 'manifest.json');
  if (!existsSync(manifestPath)) throw new Error(`${dir} is not a model bundle: it has no manifest.json`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(manifestPath, 'utf8'));
  } catch (err) {
    throw new Error(`${manifestPath}: not readable JSON: ${(err as Error).message}`);
  }
  const parsed = manifestSchemaFor(raw).safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${manifestPath} is not a barflow bundle manifest: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const manifest = parsed.data;
  for (const path of Object.keys(manifest.files)) {
    if (path.split(/[\\/]/).includes('..') || isAbsolute(path)) throw new Error(`bundle ${dir}: file name ${path} points outside the bundle`);
  }
  modelView(manifest.model.view.name).check(manifest.model.view.params, `bundle ${dir}`);
  const bytes = new Map<string, Uint8Array>();
  for (const [path, want] of Object.entries(manifest.files)) {
    const full = join(dir, path);
    if (!existsSync(full)) throw new Error(`bundle ${dir}: file ${path} is missing`);
    const b = readFileSync(full);
    const got = sha256(b);
    if (got !== want) throw new Error(`bundle ${dir}: ${path} has sha256 ${got.slice(0, 12)}, the manifest says ${want.slice(0, 12)}: the file was changed after the bundle was written`);
    bytes.set(path, b);
  }
  for (const ref of referencedFiles(manifest)) if (!bytes.has(ref)) throw new Error(`bundle ${dir}: the manifest names ${ref} but lists no checksum for it`);
  const extra = listFiles(dir).filter((p) => p !== 'manifest.json' && !bytes.has(p));
  if (extra.length > 0) throw new Error(`bundle ${dir}: ${extra.join(', ')} ${extra.length > 1 ? 'are' : 'is'} not listed in the manifest`);
  if (expectSchemaHash !== undefined && manifest.features.schemaHash !== expectSchemaHash) {
    throw new Error(`bundle ${dir} was built for feature schema ${manifest.features.schemaHash.slice(0, 12)}, but the features here have schema ${expectSchemaHash.slice(0, 12)}: train a bundle on this feature set`);
  }
  return {
    dir,
    manifest,
    file: (path) => {
      const b = bytes.get(path);
      if (b === undefined) throw new Error(`bundle ${dir} has no file ${path}`);
      return b;
    },
    json: <T>(path: string) => JSON.parse(Buffer.from(bytes.get(path)!).toString('utf8')) as T,
  };
}

function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listFiles(dir, join(prefix, e.name)) : [join(prefix, e.name)]));
}
