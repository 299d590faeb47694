import type { ElectionOptions, LeaderInfo } from '../election';

/**
 * Options of one election in a Nest app: the core's {@link ElectionOptions} plus how the app waits
 * for it. `name` and `isGlobal` are not here: they shape the module, so they sit beside the options
 * (`forRoot({ name, isGlobal, ...options })`, `forRootAsync({ name, isGlobal, useFactory })`).
 */
export interface ConsulLeaderModuleOptions extends ElectionOptions {
  /**
   * When true, application bootstrap (`app.init()`/`listen()`) waits until this instance knows its
   * first role: leader, follower that has read the key, or a Consul problem (bootstrap then
   * continues as follower and the problem is logged; with `failFast` it fails instead, unless the
   * problem is only a missing local agent). Default false: bootstrap does not wait, and
   * `@LeaderOnly` methods are skipped until the election says otherwise.
   */
  waitForElection?: boolean;
  /** How `LeaderOnlyGuard` answers an HTTP caller that reached a follower. */
  http?: ConsulLeaderHttpOptions;
  /**
   * Record OpenTelemetry metrics (`leader_election.*`, and `cluster_cron.*` for `@ClusterCron` jobs)
   * on the global meter provider when `@opentelemetry/api` is installed. Default true; without a registered SDK they cost nothing.
   */
  metrics?: boolean;
}

export interface ConsulLeaderHttpOptions {
  /**
   * The URL to send a follower's caller to: `LeaderOnlyGuard` then answers `307 Temporary Redirect`
   * there instead of `503`. Given the current leader (for example its `metadata.url`) and the
   * request's path and query (`request.url`, to keep it); return null when the leader cannot be
   * reached that way (the guard then answers 503). A 307 keeps the method and the body.
   */
  redirectTo?: (leader: LeaderInfo, request: { readonly url: string }) => string | null;
}

/** What `forRoot`/`forRootAsync` take beside the options. */
export interface ConsulLeaderModuleExtras {
  /**
   * Register the service globally, so every module's `@LeaderOnly` methods and injections reach it.
   * Default true (like `ScheduleModule`): `@LeaderOnly` is typically used far from `AppModule`.
   */
  isGlobal: boolean;
  /**
   * The name of this election when an app has several (one key each). Inject it with
   * `@InjectConsulLeader(name)`, guard methods with `@LeaderOnly(name)`. Default: the unnamed election.
   */
  name?: string;
}

/** For `forRootAsync({ useClass })` / `useExisting`. */
export interface ConsulLeaderOptionsFactory {
  createConsulLeaderOptions(): ConsulLeaderModuleOptions | Promise<ConsulLeaderModuleOptions>;
}
