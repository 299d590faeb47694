import * as fs from 'node:fs';
import * as path from 'node:path';
import { APP_SOURCE, CJS_PROBE, ESM_PROBE } from './fixture-sources';
import { run, type RunResult } from './run';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
const TSC = path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

/** One fixture app: a NestJS major, a module format, and how its TypeScript compiles. */
export interface FixtureSpec {
  readonly name: string;
  readonly nest: 11 | 12;
  readonly format: 'commonjs' | 'module';
  readonly dependencies: Readonly<Record<string, string>>;
  readonly compilerOptions: Readonly<Record<string, unknown>>;
  /** File name of the load probe (plain JavaScript, run with `node`). */
  readonly probe: string;
  readonly probeSource: string;
  /** `readme`: the app is the README's snippets (test/packaging/readme/), not the fixture app. */
  readonly sources?: 'fixture-app' | 'readme';
}

/** The README's snippets, one file each: what a newcomer pastes into a fresh app. */
export const README_SNIPPETS_DIR = path.join(__dirname, 'readme');

const SHARED_DEPENDENCIES = { 'reflect-metadata': '^0.2.0', rxjs: '^7.1.0' };

export const NEST11_CJS: FixtureSpec = {
  name: 'nest11-cjs',
  nest: 11,
  format: 'commonjs',
  dependencies: {
    '@nestjs/common': '^11.0.0',
    '@nestjs/core': '^11.0.0',
    '@nestjs/schedule': '^6.0.0',
    ...SHARED_DEPENDENCIES,
  },
  compilerOptions: { module: 'commonjs', moduleResolution: 'node10' },
  probe: 'probe.cjs',
  probeSource: CJS_PROBE,
};

export const NEST12_ESM: FixtureSpec = {
  name: 'nest12-esm',
  nest: 12,
  format: 'module',
  dependencies: {
    '@nestjs/common': '^12.0.0',
    '@nestjs/core': '^12.0.0',
    '@nestjs/schedule': '^12.0.0',
    ...SHARED_DEPENDENCIES,
  },
  compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext' },
  probe: 'probe.mjs',
  probeSource: ESM_PROBE,
};

/**
 * A fresh app made of the README's snippets, on NestJS 11 (CommonJS) or 12 (ESM): what a newcomer
 * gets after `npm install` with or without `@11`. It needs an HTTP platform (`app.listen`),
 * `@nestjs/testing` (the README's test), and the Operations snippets' terminus and OpenTelemetry.
 */
export function readmeFixture(base: FixtureSpec): FixtureSpec {
  return {
    ...base,
    name: `readme-${base.name}`,
    sources: 'readme',
    dependencies: {
      ...base.dependencies,
      '@nestjs/platform-express': `^${base.nest}.0.0`,
      '@nestjs/testing': `^${base.nest}.0.0`,
      // The optional peers of the subpath entries, for the Operations snippets.
      '@nestjs/terminus': `^${base.nest}.0.0`,
      '@opentelemetry/api': '^1.9.0',
      '@opentelemetry/sdk-metrics': '^2.0.0',
      '@opentelemetry/exporter-prometheus': '>=0.200.0 <1',
    },
  };
}

export interface Fixture {
  readonly spec: FixtureSpec;
  readonly dir: string;
  /** The compiled app, `dist/main.js` inside `dir`. */
  readonly main: string;
}

/**
 * Writes a fixture app into `<root>/<spec.name>`: a package.json that depends on the packed
 * tarball and the fixture's NestJS, a strict tsconfig with legacy decorators and decorator
 * metadata (what Nest DI needs), the app source and the load probe.
 */
export function writeFixture(root: string, spec: FixtureSpec, tarball: string): Fixture {
  const dir = path.join(root, spec.name);
  fs.mkdirSync(path.join(dir, 'src'), { recursive: true });
  const packageJson: Record<string, unknown> = {
    name: `fixture-${spec.name}`,
    version: '0.0.0',
    private: true,
    ...(spec.format === 'module' ? { type: 'module' } : {}),
    dependencies: { ...spec.dependencies, 'nestjs-consul-leader': `file:${tarball}` },
  };
  writeJson(path.join(dir, 'package.json'), packageJson);
  writeJson(path.join(dir, 'tsconfig.json'), {
    compilerOptions: {
      target: 'ES2022',
      lib: ['ES2022'],
      ...spec.compilerOptions,
      strict: true,
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
      // Check the library's .d.ts (and Nest's) too, not just what the app touches.
      skipLibCheck: false,
      noEmitOnError: true,
      // @types/node comes from this repository, so the fixture installs nothing but its app deps.
      typeRoots: [path.join(REPO_ROOT, 'node_modules', '@types')],
      types: ['node'],
      rootDir: 'src',
      outDir: 'dist',
    },
    include: ['src'],
  });
  if (spec.sources === 'readme') {
    for (const file of fs.readdirSync(README_SNIPPETS_DIR))
      fs.copyFileSync(path.join(README_SNIPPETS_DIR, file), path.join(dir, 'src', file));
  } else {
    fs.writeFileSync(path.join(dir, 'src', 'main.ts'), APP_SOURCE);
  }
  fs.writeFileSync(path.join(dir, spec.probe), spec.probeSource);
  return { spec, dir, main: path.join(dir, 'dist', 'main.js') };
}

/**
 * `npm install` in the fixture: the tarball plus the fixture's NestJS from the registry. With a
 * warm npm cache and --prefer-offline this takes a few seconds; a cold one, up to a minute.
 * Variables that `npm run` sets about this repository are dropped.
 */
export function installFixture(fixture: Fixture): Promise<RunResult> {
  return run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=warn'], {
    cwd: fixture.dir,
    env: cleanNpmEnv(),
    timeoutMs: 180_000,
  });
}

/**
 * Type-checks the fixture against the installed package's .d.ts and compiles it to dist/ (nothing
 * is emitted on a type error). Resolves either way: the caller asserts on code and output.
 */
export function compileFixture(fixture: Fixture): Promise<RunResult> {
  return run(process.execPath, [TSC, '-p', 'tsconfig.json', '--pretty', 'false'], {
    cwd: fixture.dir,
    timeoutMs: 120_000,
    allowFailure: true,
  });
}

/**
 * The environment minus what `npm run test:packaging` set about *this* package (npm_package_*,
 * npm_lifecycle_*, its local prefix), so the fixture's npm works on the fixture. The user's own
 * npm configuration (npm_config_* such as cache, registry, cafile) passes through.
 */
export function cleanNpmEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (/^npm_(package_|lifecycle_|command$|config_local_prefix$)/i.test(name)) continue;
    env[name] = value;
  }
  return env;
}

function writeJson(file: string, value: unknown): void {
  fs.writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}
