import { Injectable } from '@nestjs/common';
import { ConsulLeaderService } from 'nestjs-consul-leader';

@Injectable()
export class SettlementService {
  constructor(private readonly leadership: ConsulLeaderService) {}

  async settle(batchId: string): Promise<void> {
    this.leadership.assertLeader('settlement'); // throws NotLeaderError unless this instance leads now
    await this.transfer(batchId, this.leadership.fencingToken);
  }

  private async transfer(_batchId: string, _fencingToken: number | null): Promise<void> {}
}
