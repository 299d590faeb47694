import { Controller, Get } from '@nestjs/common';
import { firstValueFrom } from 'rxjs';
import { ConsulLeaderService, type LeaderInfo } from '../lib';

export interface LeaderStatus {
  instanceId: string;
  isLeader: boolean;
  /** Who holds the key, as this instance last read it from Consul; null when nobody does or none is known. */
  leader: LeaderInfo | null;
  /**
   * False before this instance's first read of the key and while it cannot vouch for a leader (its
   * term just ended, Consul unreachable for longer than the lease): `leader: null` then does not
   * mean that nobody leads.
   */
  leaderKnown: boolean;
  /** This instance's fencing token while it leads, else null. */
  fencingToken: number | null;
}

@Controller('leader')
export class LeaderController {
  constructor(private readonly leadership: ConsulLeaderService) {}

  @Get()
  async status(): Promise<LeaderStatus> {
    // `leader$` replays the current holder to each new subscriber, so this resolves at once.
    const leader = await firstValueFrom(this.leadership.leader$);
    return {
      instanceId: this.leadership.state.instanceId,
      isLeader: this.leadership.isLeader(),
      leader: leader ?? null,
      leaderKnown: leader !== undefined,
      fencingToken: this.leadership.fencingToken,
    };
  }
}
