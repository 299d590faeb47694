import { Injectable, Logger } from '@nestjs/common';

/** Stands in for your data access: it logs what it would send. */
@Injectable()
export class InvoicesRepository {
  private readonly logger = new Logger(InvoicesRepository.name);

  async sendDue(leader: { signal: AbortSignal; fencingToken: number | null }): Promise<void> {
    if (leader.signal.aborted) return; // this instance stopped leading meanwhile
    // A real one passes the fencing token with its writes, so a replaced leader's are refused.
    this.logger.log(`Sending due invoices (fencing token ${leader.fencingToken})`);
  }
}
