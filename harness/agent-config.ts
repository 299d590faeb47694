// An agent's JSON config file, its node name, its work dir and its log's tail.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_SESSION_TTL_MIN, type StartAgentOptions } from './consul-agent';
import { harnessPaths } from './harness-paths';

export type Json = Record<string, unknown>;

function isPlainObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function deepMerge(base: Json, extra: Json): Json {
  const out: Json = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    out[key] = isPlainObject(value) && isPlainObject(out[key]) ? deepMerge(out[key], value) : value;
  }
  return out;
}

export function agentConfig(options: StartAgentOptions): Json {
  const base: Json = {
    session_ttl_min: options.sessionTtlMin ?? DEFAULT_SESSION_TTL_MIN,
    // The checkpoint service is on the internet; the tests run on loopback only.
    disable_update_check: true,
  };
  if (options.acl) {
    base.acl = {
      enabled: true,
      default_policy: options.acl.defaultPolicy,
      down_policy: 'extend-cache',
      // The agent token too, so the agent's own anti-entropy is not denied (and does not log it).
      tokens: { master: options.acl.managementToken, agent: options.acl.managementToken },
    };
  }
  return deepMerge(base, options.extraConfig ?? {});
}

export function uniqueNode(kind: string): string {
  return `ncl-${kind}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

export function tail(file: string | undefined, lines: number): string {
  if (file === undefined) return '';
  try {
    return fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .slice(-lines - 1)
      .join('\n');
  } catch {
    return '';
  }
}

/** Config file and data dir of one agent, inside `.consul/data/` so a teardown can find it. */
export function workDir(node: string): string {
  const { data } = harnessPaths();
  fs.mkdirSync(data, { recursive: true });
  return fs.mkdtempSync(path.join(data, `${node}-`));
}
