import * as fs from 'node:fs';
import * as path from 'node:path';
import { cleanNpmEnv, REPO_ROOT } from './fixtures';
import { run } from './run';

export interface PackedLibrary {
  /** Absolute path of the .tgz. */
  readonly tarball: string;
  /** Paths inside the package, e.g. `dist/index.js`, `package.json`. */
  readonly files: readonly string[];
  readonly ms: number;
}

/**
 * `npm pack` of this repository into `destination`, exactly as a publish would (its `prepack`
 * script builds dist/). The file list comes from npm's own `--json` report.
 */
export async function packLibrary(destination: string): Promise<PackedLibrary> {
  fs.mkdirSync(destination, { recursive: true });
  const result = await run('npm', ['pack', '--json', '--pack-destination', destination], {
    cwd: REPO_ROOT,
    env: cleanNpmEnv(),
    timeoutMs: 180_000,
  });
  // prepack's build output comes first on stdout; the JSON report is the last thing printed.
  const start = result.stdout.search(/^\[/m);
  if (start < 0) throw new Error(`npm pack printed no JSON report:\n${result.stdout}`);
  const report = JSON.parse(result.stdout.slice(start)) as Array<{
    filename: string;
    files: Array<{ path: string }>;
  }>;
  const [entry] = report;
  const tarball = path.join(destination, entry.filename);
  if (!fs.existsSync(tarball))
    throw new Error(`npm pack reported ${tarball}, which does not exist`);
  return { tarball, files: entry.files.map((file) => file.path).sort(), ms: result.ms };
}

/** The file list of an existing tarball (`tar -tzf`; npm puts everything under `package/`). */
export async function listTarball(tarball: string): Promise<PackedLibrary> {
  if (!fs.existsSync(tarball)) throw new Error(`PACKAGING_TARBALL=${tarball} does not exist`);
  const result = await run('tar', ['-tzf', tarball], { cwd: path.dirname(tarball) });
  const files = result.stdout
    .split('\n')
    .filter((line) => line && !line.endsWith('/'))
    .map((line) => line.replace(/^package\//, ''))
    .sort();
  return { tarball, files, ms: result.ms };
}
