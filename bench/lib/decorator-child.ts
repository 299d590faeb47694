// The cost of @LeaderOnly on a method call, in a Nest app that leads a real election (default
// timings): ns per call of the decorated method vs the same body undecorated, several rounds of
// millions of calls after a warm-up, the two loops alternating first. Prints one JSON line.
import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { filter, firstValueFrom } from 'rxjs';
import { ConsulLeaderModule, ConsulLeaderService, LeaderOnly } from '../../lib';

const [host, port, key, callsText, roundsText] = process.argv.slice(2);
const calls = Number(callsText);
const rounds = Number(roundsText);

@Injectable()
class Work {
  total = 0;

  plain(x: number): number {
    this.total += x;
    return this.total;
  }

  @LeaderOnly()
  guarded(x: number): number {
    this.total += x;
    return this.total;
  }
}

@Module({
  imports: [
    ConsulLeaderModule.forRoot({
      key,
      instanceId: 'decorator-bench',
      consul: { host, port: Number(port) },
      waitForElection: true,
      logger: { log: () => undefined, warn: () => undefined, error: () => undefined },
    }),
  ],
  providers: [Work],
})
class DecoratorBenchModule {}

// One loop per target, written out: a shared timing helper would see four different callees at one
// call site, turn megamorphic and measure V8's slow path instead of the decorator.
function timePlain(work: Work): number {
  const started = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) work.plain(i & 7);
  return Number(process.hrtime.bigint() - started) / calls;
}

function timeGuarded(work: Work): number {
  const started = process.hrtime.bigint();
  let ran = 0;
  for (let i = 0; i < calls; i++) if (work.guarded(i & 7) !== undefined) ran++;
  const ns = Number(process.hrtime.bigint() - started) / calls;
  // A skipped call takes another path (and logs): only rounds that ran as leader throughout count.
  if (ran !== calls)
    throw new Error(`lost leadership while measuring (${calls - ran} calls skipped)`);
  return ns;
}

function timeIsLeader(service: ConsulLeaderService): number {
  const started = process.hrtime.bigint();
  let leading = 0;
  for (let i = 0; i < calls; i++) if (service.isLeader()) leading++;
  if (leading !== calls) throw new Error('lost leadership while measuring');
  return Number(process.hrtime.bigint() - started) / calls;
}

function timeClock(): number {
  const started = process.hrtime.bigint();
  let sum = 0;
  for (let i = 0; i < calls; i++) sum += performance.now();
  if (sum < 0) throw new Error('unreachable');
  return Number(process.hrtime.bigint() - started) / calls;
}

async function main(): Promise<void> {
  const app = await NestFactory.createApplicationContext(DecoratorBenchModule, { logger: false });
  await firstValueFrom(app.get(ConsulLeaderService).isLeader$.pipe(filter(Boolean)));
  const work = app.get(Work);
  if (work.guarded(1) === undefined) throw new Error('@LeaderOnly skipped the call: not leading');
  const service = app.get(ConsulLeaderService);
  // Each loop blocks the event loop for a few hundred ms; between loops the election confirms its
  // lease (it would rightly step down if the loops ran back to back for longer than the lease).
  const breathe = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 50));
  // Warm-up: let V8 optimise each loop before anything is recorded.
  timePlain(work);
  await breathe();
  timeGuarded(work);
  await breathe();
  timeIsLeader(service);
  await breathe();
  timeClock();
  await breathe();
  // Where the overhead goes: the wrapper asks the service, which asks the election, which reads the
  // monotonic clock to check the lease deadline at call time.
  const plainNs: number[] = [];
  const guardedNs: number[] = [];
  const isLeaderNs: number[] = [];
  const clockNs: number[] = [];
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      plainNs.push(timePlain(work));
      await breathe();
      guardedNs.push(timeGuarded(work));
    } else {
      guardedNs.push(timeGuarded(work));
      await breathe();
      plainNs.push(timePlain(work));
    }
    await breathe();
    isLeaderNs.push(timeIsLeader(service));
    await breathe();
    clockNs.push(timeClock());
    await breathe();
  }
  const leaderAtEnd = app.get(ConsulLeaderService).isLeader();
  process.stdout.write(
    `${JSON.stringify({ calls, rounds, plainNs, guardedNs, isLeaderNs, clockNs, leaderAtEnd, checksum: work.total % 1000 })}\n`,
  );
  await app.close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
