import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
/** What the sample needs: its own files and the library it imports from `../lib`. */
const SOURCE_DIRS = ['sample', 'lib'];

/**
 * Transpiles sample/ and lib/ once, the way `ts-node --transpile-only` does file by file, into a
 * folder of this run under `node_modules/.cache/` (where Node still finds the project's packages).
 * Three instances then start with plain `node`: each skips loading TypeScript and compiling ~30
 * files, which on a small machine takes several seconds per process. Type errors are `npm run
 * typecheck`'s job, not this one's.
 */
export function compileSample(): { entry: string; outDir: string } {
  const outDir = path.join(
    PROJECT_ROOT,
    'node_modules',
    '.cache',
    'nestjs-consul-leader-demo',
    String(process.pid),
  );
  fs.rmSync(outDir, { recursive: true, force: true });
  const compilerOptions: ts.CompilerOptions = {
    ...readCompilerOptions(),
    // Stack traces point at the .ts lines (the instances run with --enable-source-maps).
    sourceMap: false,
    inlineSourceMap: true,
    inlineSources: true,
  };
  for (const dir of SOURCE_DIRS) {
    for (const file of typeScriptFiles(path.join(PROJECT_ROOT, dir))) {
      const relative = path.relative(PROJECT_ROOT, file);
      const { outputText, diagnostics } = ts.transpileModule(fs.readFileSync(file, 'utf8'), {
        compilerOptions,
        fileName: file,
        reportDiagnostics: true,
      });
      if (diagnostics && diagnostics.length > 0) {
        throw new Error(
          `Cannot transpile ${relative}: ${ts.flattenDiagnosticMessageText(diagnostics[0]!.messageText, '\n')}`,
        );
      }
      const target = path.join(outDir, relative.replace(/\.ts$/, '.js'));
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, outputText);
    }
  }
  return { entry: path.join(outDir, 'sample', 'main.js'), outDir };
}

function readCompilerOptions(): ts.CompilerOptions {
  const configFile = path.join(PROJECT_ROOT, 'tsconfig.json');
  const { config, error } = ts.readConfigFile(configFile, (file) => ts.sys.readFile(file));
  if (error)
    throw new Error(
      `Cannot read ${configFile}: ${ts.flattenDiagnosticMessageText(error.messageText, '\n')}`,
    );
  return ts.parseJsonConfigFileContent(config, ts.sys, PROJECT_ROOT).options;
}

function typeScriptFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true }).flatMap((entry) => {
    const file = path.join(entry.parentPath, entry.name);
    return entry.isFile() &&
      file.endsWith('.ts') &&
      !file.endsWith('.d.ts') &&
      !file.endsWith('.spec.ts')
      ? [file]
      : [];
  });
}
