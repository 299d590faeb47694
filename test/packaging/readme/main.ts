import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create(AppModule);
  app.enableShutdownHooks(); // on SIGTERM a leader hands over at once
  await app.listen(process.env.PORT ?? 3000); // a second instance on one machine: PORT=3001
}

void bootstrap();
