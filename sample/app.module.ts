import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { ConsulLeaderModule } from '../lib';
import { JobsService } from './jobs.service';
import { LeaderController } from './leader.controller';
import { LeadershipLoggerService } from './leadership-logger.service';
import { ReportsService } from './reports.service';
import { readSampleSettings } from './settings';

const settings = readSampleSettings();

@Module({
  imports: [
    ScheduleModule.forRoot(),
    // Every timing is left at its default on purpose: this is what an app gets out of the box
    // (a crashed leader is replaced within a few seconds, a graceful stop hands over at once).
    ConsulLeaderModule.forRoot({
      key: settings.leaderKey,
      // No `consul: { host, port, token }`: CONSUL_HTTP_ADDR and CONSUL_HTTP_TOKEN are the defaults.
      instanceId: settings.instanceId,
      // Written into the key while this instance leads; every instance sees it in `leader$`.
      metadata: { url: `http://127.0.0.1:${settings.port}`, pid: process.pid },
    }),
  ],
  controllers: [LeaderController],
  providers: [JobsService, ReportsService, LeadershipLoggerService],
})
export class AppModule {}
