import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { ConsulLeaderService } from 'nestjs-consul-leader';

/** Work that is not a scheduled call: a queue consumer that runs while this instance leads. */
@Injectable()
export class QueueConsumer implements OnApplicationBootstrap {
  private readonly logger = new Logger(QueueConsumer.name);

  constructor(private readonly leadership: ConsulLeaderService) {}

  onApplicationBootstrap(): void {
    // Both streams complete when the app shuts down: no need to unsubscribe.
    this.leadership.isLeader$.subscribe((isLeader) => (isLeader ? this.start() : this.stop()));
    this.leadership.leader$.subscribe((leader) =>
      // undefined: this instance does not know (yet); null: nobody holds the key.
      this.logger.log(
        leader === undefined ? 'leader: not known' : `leader: ${leader?.instanceId ?? 'nobody'}`,
      ),
    );
  }

  private start(): void {
    this.logger.log('Leading: connecting the consumer'); // e.g. consumer.connect()
  }

  private stop(): void {
    this.logger.log('Not leading: disconnecting the consumer'); // e.g. consumer.disconnect()
  }
}
