import { Module } from '@nestjs/common';
import { ConsulLeaderModule } from 'nestjs-consul-leader';

@Module({
  imports: [
    ConsulLeaderModule.forRoot({
      key: 'service/billing/leader',
      metadata: { url: `http://${process.env.POD_IP ?? '127.0.0.1'}:3000` },
      // A follower's LeaderOnlyGuard answers 307 to the leader, keeping the path and query.
      http: { redirectTo: (leader, request) => `${String(leader.metadata.url)}${request.url}` },
    }),
  ],
})
export class LeaderRedirectModule {}
