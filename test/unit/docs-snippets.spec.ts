// The TypeScript snippets of docs/operations/*.md are files under test/fixtures/docs/, which `npm
// run typecheck` checks against lib/, and its ACL policies are the .hcl files the ACL spec runs
// (test/integration/election/acl-policy.spec.ts); this spec keeps each page's copy and its file
// identical.
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const DOCS = path.join(ROOT, 'docs', 'operations');

function snippets(page: string): Array<{ file: string; code: string }> {
  const text = fs.readFileSync(path.join(DOCS, page), 'utf8');
  const pattern = /<!-- snippet: (\S+) -->\s*\n\s*\n```(?:ts|hcl)\n([\s\S]*?)\n```/g;
  return [...text.matchAll(pattern)].map((match) => ({ file: match[1], code: match[2] }));
}

describe('the snippets of docs/operations', () => {
  const pages = fs.readdirSync(DOCS).filter((page) => page.endsWith('.md'));

  it('are each marked with the fixture they come from', () => {
    for (const page of pages) {
      const text = fs.readFileSync(path.join(DOCS, page), 'utf8');
      const blocks = text.match(/```(?:ts|hcl)\n/g)?.length ?? 0;
      expect({ page, marked: snippets(page).length }).toEqual({ page, marked: blocks });
    }
  });

  it('are identical to their files (test/fixtures/docs/*.ts, docs/operations/acl/*.hcl)', () => {
    for (const page of pages) {
      for (const { file, code } of snippets(page)) {
        expect(file).toMatch(
          /^(test\/fixtures\/docs\/[\w.-]+\.ts|docs\/operations\/acl\/[\w.-]+\.hcl)$/,
        );
        const fixture = fs.readFileSync(path.join(ROOT, file), 'utf8').trimEnd();
        expect({ page, file, code }).toEqual({ page, file, code: fixture });
      }
    }
  });
});
