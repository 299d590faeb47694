import * as path from 'node:path';

/**
 * Where the harness keeps what it fetches and what it runs. Everything lives in the git-ignored
 * `.consul/` folder at the project root so a second run reuses the binary and a crashed run's
 * processes can still be found from the next one.
 */
export interface HarnessPaths {
  readonly root: string;
  /** Debian package cache: `debian/pkg/usr/bin/consul` once fetched. */
  readonly debian: string;
  /** One JSON file per process the harness started (see `process-registry.ts`). */
  readonly run: string;
  /** One log per agent node: `<node>.log`. */
  readonly logs: string;
  /** Config files and cluster servers' data dirs. */
  readonly data: string;
}

export function harnessPaths(projectRoot = path.resolve(__dirname, '..')): HarnessPaths {
  const root = path.join(projectRoot, '.consul');
  return {
    root,
    debian: path.join(root, 'debian'),
    run: path.join(root, 'run'),
    logs: path.join(root, 'logs'),
    data: path.join(root, 'data'),
  };
}
