import { Controller, Get } from '@nestjs/common';
import { firstValueFrom } from 'rxjs';
import { ConsulLeaderService, type LeaderInfo } from '../lib';

export interface LeaderStatus {
  instanceId: string;
  isLeader: boolean;
  /** Who holds the key, as this instance last read it from Consul; null when nobody does. */
  leader: LeaderInfo | null;
  /** This instance's fencing token while it leads, else null. */
  fencingToken: number | null;
}

@Controller('leader')
export class LeaderController {
  constructor(private readonly leadership: ConsulLeaderService) {}

  @Get()
  async status(): Promise<LeaderStatus> {
    return {
      instanceId: this.leadership.state.instanceId,
      isLeader: this.leadership.isLeader(),
      // `leader$` replays the current holder to each new subscriber, so this resolves at once.
      leader: await firstValueFrom(this.leadership.leader$),
      fencingToken: this.leadership.fencingToken,
    };
  }
}
