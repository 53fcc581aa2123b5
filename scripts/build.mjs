#!/usr/bin/env node
/**
 * Production runs compiled JavaScript: `npm run build` compiles src/ and adapters/ to dist/
 * (tsconfig.build.json, same layout: dist/adapters/main.js, dist/src/cli/ask.js…).
 *
 *   node scripts/build.mjs              build now (`npm run build`)
 *   node scripts/build.mjs --if-stale   build only when dist/ is missing or was built from other
 *                                       sources (`npm start` runs this first; so does `npx pergunta`)
 *
 * Staleness is decided by content, not by dates: dist/.build.json holds a hash of every source file
 * the build read, so a fresh clone, a `git pull` or an edited file rebuilds, and a checkout that only
 * touched timestamps does not. The build is written to a temporary folder and swapped in whole, so a
 * failed build leaves the previous dist/ in place.
 *
 * Plain JavaScript, no dependency but TypeScript itself, so that it runs before anything is compiled.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE_DIRS = ['src', 'adapters'];
const CONFIG_FILES = ['tsconfig.json', 'tsconfig.build.json'];
const STAMP = '.build.json';

/** Every file the build depends on, relative to `root`, sorted. */
function sourceFiles(root) {
  const files = [...CONFIG_FILES];
  const walk = (dir) => {
    for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = path.posix.join(dir, entry.name);
      if (entry.isDirectory()) walk(rel);
      else if (/\.(ts|mts|cts|json)$/.test(entry.name)) files.push(rel);
    }
  };
  for (const dir of SOURCE_DIRS) walk(dir);
  return files.sort();
}

function fingerprint(root) {
  const hashes = {};
  for (const file of sourceFiles(root)) hashes[file] = createHash('sha256').update(readFileSync(path.join(root, file))).digest('hex');
  return hashes;
}

/** Why dist/ must be (re)built, or null when it matches the sources. */
export function staleReason(root = ROOT) {
  let built;
  try {
    built = JSON.parse(readFileSync(path.join(root, 'dist', STAMP), 'utf8')).sources;
  } catch {
    return 'dist/ has not been built yet';
  }
  const now = fingerprint(root);
  const changed = Object.keys(now).filter((file) => built?.[file] !== now[file]);
  const removed = Object.keys(built ?? {}).filter((file) => !(file in now));
  if (changed.length + removed.length === 0) return null;
  const names = [...changed, ...removed];
  return `${names.slice(0, 3).join(', ')}${names.length > 3 ? ` and ${names.length - 3} more` : ''} changed since the last build`;
}

/** Compiles to a temporary folder, then swaps it in as dist/. Throws with a readable message. */
export function build(root = ROOT) {
  const require = createRequire(path.join(root, 'package.json'));
  let tsc;
  try {
    tsc = require.resolve('typescript/bin/tsc');
  } catch {
    throw new Error(
      'TypeScript is not installed here (an install without dev dependencies?): build dist/ where they are ' +
        '(`npm ci && npm run build`), or install them.',
    );
  }
  const sources = fingerprint(root); // before compiling: an edit during the build makes the next run rebuild
  const tmpRoot = path.join(root, '.tmp');
  mkdirSync(tmpRoot, { recursive: true });
  const out = path.join(tmpRoot, `dist-${process.pid}`);
  rmSync(out, { recursive: true, force: true });
  const run = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json'), '--outDir', out], {
    cwd: root,
    stdio: ['ignore', 2, 2],
  });
  if (run.status !== 0) {
    rmSync(out, { recursive: true, force: true });
    throw new Error(`the TypeScript build failed (${run.error?.message ?? `tsc exited with ${run.status ?? run.signal}`}); dist/ is unchanged`);
  }
  writeFileSync(path.join(out, STAMP), `${JSON.stringify({ builtAt: new Date().toISOString(), sources }, null, 2)}\n`);
  const dist = path.join(root, 'dist');
  const old = path.join(tmpRoot, `dist-old-${process.pid}`);
  if (existsSync(dist)) renameSync(dist, old);
  renameSync(out, dist);
  rmSync(old, { recursive: true, force: true });
}

/** Builds when dist/ is missing or stale, saying so on stderr (stdout stays the command's). */
export function ensureBuilt(root = ROOT) {
  const reason = staleReason(root);
  if (reason === null) return;
  process.stderr.write(`pergunta: building dist/ (${reason})…\n`);
  build(root);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    if (process.argv.includes('--if-stale')) ensureBuilt();
    else {
      build();
      process.stderr.write('pergunta: dist/ built\n');
    }
  } catch (err) {
    process.stderr.write(`pergunta: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
