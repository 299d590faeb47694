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

  /** livenessProbe: down only when restarting the process would help (the election is stuck). */
  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([() => this.leader.isHealthy('leader', { probe: 'liveness' })]);
  }

  /** readinessProbe: down on a stuck election or a misconfiguration; up while Consul is away. */
  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([() => this.leader.isHealthy('leader', { probe: 'readiness' })]);
  }

  /** Dashboards and deep health pages: down whenever the election cannot work, Consul included. */
  @Get()
  @HealthCheck()
  status() {
    return this.health.check([() => this.leader.isHealthy('leader')]);
  }
}
