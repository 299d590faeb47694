// Every TypeScript snippet of the README and of docs/ is a file in test/packaging/readme/, which
// `npm run typecheck` checks against lib/ and `npm run test:packaging` compiles (and runs) in fresh
// NestJS 11 CommonJS and NestJS 12 ESM apps; every ACL policy shown is a .hcl file the ACL spec
// runs. This spec keeps the documents' copies and the files identical.
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
/** The README and every page of docs/, the user's documents. */
function documents(): Array<{ name: string; text: string }> {
  const docs = path.join(ROOT, 'docs');
  const pages: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.md')) pages.push(full);
    }
  };
  if (fs.existsSync(docs)) walk(docs);
  return [path.join(ROOT, 'README.md'), ...pages.sort()].map((file) => ({
    name: path.relative(ROOT, file),
    text: fs.readFileSync(file, 'utf8'),
  }));
}

/** Each ```ts (or other `language`) block, with the snippet marker before it (if any), de-indented. */
function tsBlocks(language = 'ts'): Array<{ line: string; file: string | null; code: string }> {
  const blocks: Array<{ line: string; file: string | null; code: string }> = [];
  const pattern = new RegExp(
    `(?:<!-- snippet: (\\S+) -->\\s*\\n\\s*\\n)?( *)\`\`\`${language}\\n([\\s\\S]*?)\\n *\`\`\``,
    'g',
  );
  for (const { name, text } of documents())
    for (const match of text.matchAll(pattern)) {
      const indent = match[2].length;
      const code = match[3]
        .split('\n')
        .map((line) => line.slice(Math.min(indent, line.length - line.trimStart().length)))
        .join('\n');
      const line = `${name}:${text.slice(0, match.index).split('\n').length}`;
      blocks.push({ line, file: match[1] ?? null, code });
    }
  return blocks;
}

describe('the snippets of the README and docs/', () => {
  it('each come from a file of test/packaging/readme/', () => {
    const blocks = tsBlocks();
    expect(blocks.length).toBeGreaterThan(5);
    expect(blocks.filter((block) => block.file === null).map((block) => block.line)).toEqual([]);
    for (const block of blocks) {
      expect(block.file).toMatch(/^test\/packaging\/readme\/[\w.-]+\.ts$/);
    }
  });

  it('are identical to those files', () => {
    for (const block of tsBlocks()) {
      const file = fs.readFileSync(path.join(ROOT, block.file!), 'utf8').trimEnd();
      expect({ file: block.file, code: block.code }).toEqual({ file: block.file, code: file });
    }
  });

  it('show ACL policies only as the .hcl files the ACL spec runs on a real agent', () => {
    // test/integration/election/acl-policy.spec.ts elects with exactly these policies.
    const blocks = tsBlocks('hcl');
    expect(blocks.length).toBeGreaterThan(0);
    for (const block of blocks) {
      expect(block.file).toMatch(/^docs\/operations\/acl\/[\w.-]+\.hcl$/);
      const file = fs.readFileSync(path.join(ROOT, block.file!), 'utf8').trimEnd();
      expect({ file: block.file, code: block.code }).toEqual({ file: block.file, code: file });
    }
  });

  it('cover every file of test/packaging/readme/', () => {
    const shown = new Set(tsBlocks().map((block) => path.basename(block.file!)));
    const files = fs.readdirSync(path.join(ROOT, 'test', 'packaging', 'readme'));
    expect(files.filter((file) => !shown.has(file))).toEqual([]);
  });
});
