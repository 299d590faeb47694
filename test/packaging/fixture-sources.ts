/*
 * The sources of the fixture apps, written into each fixture folder by `fixtures.ts`. They are
 * strings, not files in this tree, because they compile against the fixture's own NestJS (11 or
 * 12, CommonJS or ESM) and the installed tarball, never against this repository's lib/.
 *
 * Every line the tests read starts with MARKER followed by one JSON object; Nest's own logs and
 * anything else on stdout are ignored.
 */

export const MARKER = '@@fixture ';

/**
 * One Nest app (an application context: no HTTP platform is needed) with two `@Cron` jobs every
 * second behind `@LeaderOnly()`, one with each decorator order (`job: 'below' | 'above'`). It reports readiness (with whether DI handed the job the same
 * `ConsulLeaderService` the app resolves), each change of its own role (`isLeader$`) and of who
 * leads (`leader$`), each tick, and its shutdown.
 * Writing `close` to its stdin calls `app.close()`; the process must then exit on its own (if it
 * does not, it reports what still holds the event loop).
 * The same source compiles as CommonJS (Nest 11) and as an ES module (Nest 12).
 */
export const APP_SOURCE = `import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Cron, ScheduleModule } from '@nestjs/schedule';
import {
  ConsulLeaderModule,
  ConsulLeaderService,
  LeaderOnly,
  type LeaderInfo,
} from 'nestjs-consul-leader';

function setting(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(\`\${name} is not set\`);
  return value;
}

const instanceId = setting('FIXTURE_INSTANCE');

function report(event: string, data: Record<string, unknown> = {}): void {
  const line = JSON.stringify({ event, instance: instanceId, at: Date.now(), ...data });
  process.stdout.write(${JSON.stringify(MARKER)} + line + '\\n');
}

@Injectable()
export class HeartbeatJob {
  constructor(readonly leadership: ConsulLeaderService) {}

  // Both decorator orders: @LeaderOnly below @Cron, and above it.
  @Cron('* * * * * *')
  @LeaderOnly()
  leaderOnlyBelowCron(): void {
    this.beat('below');
  }

  @LeaderOnly()
  @Cron('* * * * * *')
  leaderOnlyAboveCron(): void {
    this.beat('above');
  }

  private beat(job: string): void {
    report('tick', {
      job,
      isLeader: this.leadership.isLeader(),
      fencingToken: this.leadership.fencingToken,
    });
  }
}

@Module({
  imports: [
    ScheduleModule.forRoot(),
    ConsulLeaderModule.forRoot({
      key: setting('FIXTURE_KEY'),
      consul: { host: setting('FIXTURE_CONSUL_HOST'), port: Number(setting('FIXTURE_CONSUL_PORT')) },
      instanceId,
      leaseDuration: '600ms',
      lockDelay: '600ms',
      healthCheck: { ttl: '1s' },
      sessionTtl: '2s',
      sessionTtlMin: '1s',
    }),
  ],
  providers: [HeartbeatJob],
})
export class AppModule {}

async function main(): Promise<void> {
  const app = await NestFactory.createApplicationContext(AppModule, {
    logger: ['error', 'warn', 'log'],
  });
  const service = app.get(ConsulLeaderService);
  const job = app.get(HeartbeatJob);
  report('ready', {
    injected: job.leadership === service,
    isService: job.leadership instanceof ConsulLeaderService,
  });
  service.isLeader$.subscribe({
    next: (isLeader: boolean) =>
      report('leadership', { isLeader, fencingToken: service.fencingToken }),
    complete: () => report('leadership-complete'),
  });
  service.leader$.subscribe((leader: LeaderInfo | null | undefined) =>
    report('leader', {
      leader: leader ? leader.instanceId : null,
      fencingToken: leader ? leader.fencingToken : null,
    }),
  );

  let closing = false;
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk: string) => {
    if (closing || !chunk.includes('close')) return;
    closing = true;
    // Let go of stdin (a paused pipe still holds the event loop) so only the app can keep it alive.
    process.stdin.destroy();
    report('closing');
    app.close().then(
      () => {
        report('closed');
        // If the process is still here shortly after, say what holds it (this timer does not).
        setTimeout(() => report('still-running', { resources: process.getActiveResourcesInfo() }), 2000).unref();
      },
      (error: unknown) => {
        report('close-failed', { error: String(error) });
        process.exitCode = 1;
      },
    );
  });
}

main().catch((error: unknown) => {
  report('crashed', { error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exitCode = 1;
  process.stdin.destroy();
});
`;

/** CommonJS load check: `require()` of the package and its public names. */
export const CJS_PROBE = `'use strict';
const { createRequire } = require('node:module');
const lib = require('nestjs-consul-leader');
const entry = require.resolve('nestjs-consul-leader');
const fromLib = createRequire(entry);
console.log(JSON.stringify({
  format: 'commonjs',
  entry,
  exports: Object.keys(lib).sort(),
  forRoot: typeof (lib.ConsulLeaderModule && lib.ConsulLeaderModule.forRoot),
  leaderOnly: typeof lib.LeaderOnly,
  service: typeof lib.ConsulLeaderService,
  commonFromLib: fromLib.resolve('@nestjs/common'),
  commonFromApp: require.resolve('@nestjs/common'),
  sameCommon: fromLib('@nestjs/common') === require('@nestjs/common'),
}));
`;

/**
 * ES module load check: a namespace import and named imports (these need Node's CommonJS export
 * detection to see the library's names), and whether the library's own `require('@nestjs/common')`
 * (through require(esm) when Nest is ESM-only) yields the very module instance the app imports.
 */
export const ESM_PROBE = `import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as common from '@nestjs/common';
import * as lib from 'nestjs-consul-leader';
import { ConsulLeaderModule, ConsulLeaderService, LeaderOnly } from 'nestjs-consul-leader';

const entry = fileURLToPath(import.meta.resolve('nestjs-consul-leader'));
const fromLib = createRequire(entry);
console.log(JSON.stringify({
  format: 'module',
  entry,
  exports: Object.keys(lib).filter((name) => name !== 'default').sort(),
  forRoot: typeof (ConsulLeaderModule && ConsulLeaderModule.forRoot),
  leaderOnly: typeof LeaderOnly,
  service: typeof ConsulLeaderService,
  commonFromLib: fromLib.resolve('@nestjs/common'),
  commonFromApp: fileURLToPath(import.meta.resolve('@nestjs/common')),
  sameCommon: fromLib('@nestjs/common') === common,
}));
`;
