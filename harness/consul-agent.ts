// What the harness hands out: a running Consul agent, however it was started (a local binary, a
// container, or an external agent from CONSUL_HTTP_ADDR), and the options to start one.

/** A running Consul agent the tests talk to over HTTP. */
export interface ConsulAgent {
  /** Base URL, e.g. `http://127.0.0.1:8500`, no trailing slash. */
  readonly address: string;
  readonly host: string;
  readonly port: number;
  /** Came from CONSUL_HTTP_ADDR: the harness started nothing, `stop()` is a no-op and `restart()` throws. */
  readonly external: boolean;
  readonly pid: number | undefined;
  readonly logFile: string | undefined;
  /** The consul binary that runs it, when local. */
  readonly binary: string | undefined;
  /** `Config.Version` of `GET /v1/agent/self`, e.g. `1.8.7`. */
  version(): Promise<string>;
  /** The last `lines` lines of the agent's log, to print when a test fails. */
  logTail(lines?: number): string;
  /**
   * Stops the agent (SIGTERM, SIGKILL after 5 s) and starts it again on the same ports. Resolves
   * when a leader is elected and a KV write succeeds. A dev agent comes back empty.
   */
  restart(): Promise<void>;
  /** Sends `signal` (default SIGKILL) and resolves once the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Stops the agent and removes its temporary files; safe to call twice. */
  stop(): Promise<void>;
}

export interface StartAgentOptions {
  /** Servers' minimum session TTL (Consul's default is 10s). Default `'500ms'`, which 1.8.7 accepts. */
  sessionTtlMin?: string;
  /** Turns ACLs on with `default_policy` deny; `managementToken` is the 1.8 `tokens.master`. */
  acl?: { defaultPolicy: 'deny'; managementToken: string };
  /** Deep-merged into the agent's JSON config file. */
  extraConfig?: Record<string, unknown>;
  /** Start a local agent even when CONSUL_HTTP_ADDR is set (tests that restart or use ACLs). */
  forceLocal?: boolean;
  /**
   * Run a local agent in a process group of its own, so that a terminal's Ctrl-C does not reach
   * it: its owner stops it when it is done (`npm start` stops it after the instances that use it).
   * The watchdog still stops it if the owner dies first.
   */
  ownProcessGroup?: boolean;
}

/** Servers' minimum session TTL the harness sets, so that specs can use short TTLs (Consul's is 10 s). */
export const DEFAULT_SESSION_TTL_MIN = '500ms';
/** How long an agent may take to elect itself and accept a KV write. */
export const READY_TIMEOUT_MS = 30_000;
/** SIGTERM's grace before SIGKILL (a container's stop timeout). */
export const STOP_GRACE_MS = 5_000;
