/**
 * The key names Consul accepts, checked up front so that a key a newer Consul would refuse fails at
 * bootstrap with the rule it broke, not at the first read with a 400.
 *
 * Consul 1.21.5 and later validate KV key names on `/v1/kv/` (older ones store almost anything, but
 * their HTTP router redirects paths with empty, `.` or `..` segments — seen on 1.8.7: `301` for
 * `a//b`, `a/./b`, `a/../b`, which a client that does not follow it sees as a failure). The current
 * rules (Consul's `validateKVKey`, `agent/kvs_endpoint.go`): not empty, no leading `/`, only letters,
 * digits and `, - _ . /`, no `..` before a `/` or at either end, no name ending in a file extension
 * that web caches keep. A switch on the servers can turn the character rule off; we do not rely on it.
 */
export interface ConsulKeyRule {
  /** The rule, as the error names it. */
  readonly rule: string;
  readonly broken: (key: string) => boolean;
}

/** Extensions Consul refuses at the end of a key (matched case-insensitively). */
const CACHED_EXTENSIONS = [
  'js', 'css', 'html', 'htm', 'xml', 'json', 'txt', 'log',
  'php', 'asp', 'jsp', 'cgi', 'pl', 'py', 'rb', 'sh',
  'exe', 'dll', 'bat', 'cmd', 'com', 'scr', 'vbs',
  'pdf', 'doc', 'docx', 'xls', 'xlsx', 'ppt', 'pptx',
  'zip', 'rar', 'tar', 'gz', '7z', 'bz2',
  'jpg', 'jpeg', 'png', 'gif', 'svg', 'ico', 'bmp',
  'mp3', 'mp4', 'avi', 'mov', 'wmv', 'flv', 'swf',
  'woff', 'woff2', 'ttf', 'eot', 'otf',
]; // prettier-ignore

const CACHED_EXTENSION = new RegExp(`\\.(${CACHED_EXTENSIONS.join('|')})$`, 'i');

/** In the order Consul checks them, so that the rule named is the one Consul would name. */
export const CONSUL_KEY_RULES: readonly ConsulKeyRule[] = [
  { rule: 'no leading "/"', broken: (key) => key.startsWith('/') },
  {
    rule: 'only letters, digits and , - _ . / (Consul 1.21.5+)',
    broken: (key) => !/^[A-Za-z0-9,\-_./]+$/.test(key),
  },
  {
    rule: 'no ".." before a "/" or at the start or end (path traversal, Consul 1.21.5+)',
    broken: (key) => /\.\.\//.test(key) || key.startsWith('..') || key.endsWith('..'),
  },
  {
    rule: 'no empty or "." segment ("a//b", "a/./b": Consul\'s HTTP router redirects them)',
    broken: (key) =>
      key
        .split('/')
        .some((segment, i, all) => segment === '.' || (segment === '' && i < all.length - 1)),
  },
  {
    rule: `no file extension that web caches keep at the end (.${CACHED_EXTENSIONS.slice(0, 6).join(', .')}, …; Consul 1.21.5+)`,
    broken: (key) => CACHED_EXTENSION.test(key),
  },
];

/** The first rule `key` breaks, or null when Consul accepts it. */
export function brokenConsulKeyRule(key: string): string | null {
  return CONSUL_KEY_RULES.find((candidate) => candidate.broken(key))?.rule ?? null;
}
