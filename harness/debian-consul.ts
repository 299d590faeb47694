import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { pollUntil } from './poll';
import { harnessPaths, type HarnessPaths } from './harness-paths';

const run = promisify(execFile);

/** Debian 11 still ships Consul (1.8.7); later releases dropped it. */
const CONSUL_SUITE = 'bullseye';
const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';
const DEB822_SOURCES = '/etc/apt/sources.list.d/debian.sources';
const ONE_LINE_SOURCES = '/etc/apt/sources.list';

/** Where the Debian package's binary lands once fetched. */
export function debianConsulBinary(paths: HarnessPaths = harnessPaths()): string {
  return path.join(paths.debian, 'pkg', 'usr', 'bin', 'consul');
}

export function isDebianWithApt(): boolean {
  return fs.existsSync('/etc/debian_version') && findExecutable('apt-get') !== undefined;
}

export function findExecutable(
  command: string,
  searchPath = process.env.PATH ?? '',
): string | undefined {
  for (const dir of searchPath.split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, command);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

export function isExecutableFile(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * The archive this machine already uses, read from its apt sources, so the harness never carries
 * a mirror's host name of its own: the first `URIs:` of the deb822 file, else the first `deb` line.
 */
export function debianArchiveUri(
  read: (file: string) => string | undefined = readIfExists,
): string {
  const deb822 = read(DEB822_SOURCES);
  if (deb822 !== undefined) {
    const match = /^URIs:\s*(\S+)/m.exec(deb822);
    if (match) return match[1];
  }
  const oneLine = read(ONE_LINE_SOURCES);
  if (oneLine !== undefined) {
    for (const line of oneLine.split('\n')) {
      // `deb [options] uri suite components`
      const match = /^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)/.exec(line);
      if (match) return match[1];
    }
  }
  throw new Error(
    `Cannot provision Consul from Debian: no archive URI found in ${DEB822_SOURCES} ` +
      `or ${ONE_LINE_SOURCES}. Set CONSUL_BIN=/path/to/consul instead.`,
  );
}

function readIfExists(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Fetches the `consul` package from Debian bullseye into `.consul/debian/` with a private apt
 * state (nothing on the machine changes, no root needed) and returns the binary's path. A cached
 * binary is returned at once. Two Jest workers or two CLI runs may race, so a mkdir lock guards
 * the fetch; a lock whose holder died is taken over.
 */
export async function provisionDebianConsul(
  paths: HarnessPaths = harnessPaths(),
  timeoutMs = 180_000,
): Promise<string> {
  const binary = debianConsulBinary(paths);
  if (isExecutableFile(binary)) return binary;
  fs.mkdirSync(paths.root, { recursive: true });
  const lock = `${paths.debian}.lock`;
  // Another process may be fetching it: wait until it is there or the lock is ours.
  const got = await pollUntil(
    `the lock ${lock}`,
    () => (tryLock(lock) ? 'lock' : isExecutableFile(binary) ? 'binary' : undefined),
    { timeoutMs, intervalMs: 200 },
  );
  if (got === 'binary') return binary;
  try {
    if (isExecutableFile(binary)) return binary;
    await fetchPackage(paths.debian);
    if (!isExecutableFile(binary)) {
      throw new Error(`The Debian consul package did not contain ${binary}`);
    }
    return binary;
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

function tryLock(lock: string): boolean {
  try {
    fs.mkdirSync(lock);
    fs.writeFileSync(path.join(lock, 'pid'), String(process.pid));
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const holder = Number(readIfExists(path.join(lock, 'pid')));
  let holderAlive = true;
  try {
    process.kill(holder, 0);
  } catch (error) {
    holderAlive = (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // No pid yet means the holder is between mkdir and writeFile: wait for it.
  if (holder > 0 && !holderAlive) fs.rmSync(lock, { recursive: true, force: true });
  return false;
}

async function fetchPackage(dir: string): Promise<void> {
  const work = path.join(dir, 'apt');
  fs.rmSync(dir, { recursive: true, force: true });
  for (const sub of ['sources', 'lists/partial', 'cache/archives/partial']) {
    fs.mkdirSync(path.join(work, sub), { recursive: true });
  }
  fs.writeFileSync(
    path.join(work, 'sources', 'consul.sources'),
    [
      'Types: deb',
      `URIs: ${debianArchiveUri()}`,
      `Suites: ${CONSUL_SUITE}`,
      'Components: main',
      `Signed-By: ${KEYRING}`,
      '',
    ].join('\n'),
  );
  const options = [
    ['Dir::Etc::sourcelist', '/dev/null'],
    ['Dir::Etc::sourceparts', path.join(work, 'sources')],
    ['Dir::State::Lists', path.join(work, 'lists')],
    ['Dir::Cache', path.join(work, 'cache')],
  ].flatMap(([key, value]) => ['-o', `${key}=${value}`]);
  const step = async (args: string[], cwd: string) => {
    try {
      await run('apt-get', [...options, ...args], { cwd, maxBuffer: 16 * 1024 * 1024 });
    } catch (error) {
      const e = error as { stderr?: string; message: string };
      throw new Error(`apt-get ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
    }
  };
  await step(['update'], work);
  await step(['download', 'consul'], work);
  const deb = fs.readdirSync(work).find((n) => /^consul_.*\.deb$/.test(n));
  if (deb === undefined) throw new Error(`apt-get download consul left no .deb in ${work}`);
  await run('dpkg-deb', ['-x', path.join(work, deb), path.join(dir, 'pkg')]);
  // Only the binary is kept; the lists and the .deb are tens of MB.
  fs.rmSync(work, { recursive: true, force: true });
}
