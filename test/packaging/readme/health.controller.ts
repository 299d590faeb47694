import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { ConsulLeaderHealthIndicator } from 'nestjs-consul-leader/terminus';

// Module: imports [TerminusModule, ConsulLeaderModule.forRoot(…)], providers [ConsulLeaderHealthIndicator]
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly leader: ConsulLeaderHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    // A named election: this.leader.isHealthy('reports', { name: 'reports' })
    return this.health.check([() => this.leader.isHealthy()]);
  }
}
