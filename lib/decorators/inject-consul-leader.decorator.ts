import { Inject } from '@nestjs/common';
import { getConsulLeaderToken } from '../consul-leader.tokens';

/**
 * Injects the `ConsulLeaderService` of election `name` (registered with
 * `ConsulLeaderModule.forRoot({ name, ... })`). Without a name it injects the default election,
 * which plain constructor injection by type does as well.
 */
export const InjectConsulLeader = (name?: string): PropertyDecorator & ParameterDecorator =>
  Inject(getConsulLeaderToken(name));
