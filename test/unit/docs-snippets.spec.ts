// The TypeScript snippets of docs/operations/*.md are files under test/fixtures/docs/, which `npm
// run typecheck` checks against lib/; this spec keeps each page's copy and its file identical.
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const DOCS = path.join(ROOT, 'docs', 'operations');

function snippets(page: string): Array<{ file: string; code: string }> {
  const text = fs.readFileSync(path.join(DOCS, page), 'utf8');
  const pattern = /<!-- snippet: (\S+) -->\s*\n\s*\n```ts\n([\s\S]*?)\n```/g;
  return [...text.matchAll(pattern)].map((match) => ({ file: match[1], code: match[2] }));
}

describe('the snippets of docs/operations', () => {
  const pages = fs.readdirSync(DOCS).filter((page) => page.endsWith('.md'));

  it('are each marked with the fixture they come from', () => {
    for (const page of pages) {
      const text = fs.readFileSync(path.join(DOCS, page), 'utf8');
      const blocks = text.match(/```ts\n/g)?.length ?? 0;
      expect({ page, marked: snippets(page).length }).toEqual({ page, marked: blocks });
    }
  });

  it('are identical to their fixtures under test/fixtures/docs/', () => {
    for (const page of pages) {
      for (const { file, code } of snippets(page)) {
        expect(file).toMatch(/^test\/fixtures\/docs\/[\w.-]+\.ts$/);
        const fixture = fs.readFileSync(path.join(ROOT, file), 'utf8').trimEnd();
        expect({ page, file, code }).toEqual({ page, file, code: fixture });
      }
    }
  });
});
