import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { ConsulLeaderModule } from 'nestjs-consul-leader';
import { InvoicesJob } from './invoices.job.js';
import { InvoicesRepository } from './invoices.repository.js';
import { ReportsJob } from './reports.job.js';

@Module({
  imports: [
    ScheduleModule.forRoot(),
    ConsulLeaderModule.forRoot({
      key: 'service/billing/leader', // the Consul KV key the instances compete for
      // consul: { host, port, token } — default: CONSUL_HTTP_ADDR / CONSUL_HTTP_TOKEN, else 127.0.0.1:8500
      metadata: { region: 'eu-1' }, // shown to every instance in `leader$`
    }),
  ],
  providers: [InvoicesJob, InvoicesRepository, ReportsJob],
})
export class AppModule {}
