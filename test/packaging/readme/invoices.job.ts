import { Injectable } from '@nestjs/common';
import { Cron, CronExpression } from '@nestjs/schedule';
import { ConsulLeaderService, LeaderOnly } from 'nestjs-consul-leader';
import { InvoicesRepository } from './invoices.repository.js';

@Injectable()
export class InvoicesJob {
  constructor(
    private readonly leadership: ConsulLeaderService,
    private readonly invoices: InvoicesRepository,
  ) {}

  @Cron(CronExpression.EVERY_5_SECONDS)
  @LeaderOnly()
  async sendDueInvoices(): Promise<void> {
    const { signal, fencingToken } = this.leadership;
    await this.invoices.sendDue({ signal, fencingToken });
  }
}
