import { Controller, Post, UseGuards } from '@nestjs/common';
import { LeaderOnly, LeaderOnlyGuard } from 'nestjs-consul-leader';

@Controller('search')
export class SearchController {
  @Post('reindex')
  @UseGuards(LeaderOnlyGuard)
  @LeaderOnly() // optional: also counts the call as in-flight leader work at shutdown
  reindex(): string {
    return 'reindexing';
  }
}
