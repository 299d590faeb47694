import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';
import { readSampleSettings } from './settings';

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create(AppModule);
  // SIGTERM/SIGINT run the shutdown hooks: the leader stops its jobs, releases the key at once
  // (no lock-delay on an explicit release) and another instance takes over within milliseconds.
  // Without this, a stopped leader is only replaced once its health check expires.
  app.enableShutdownHooks();
  await app.listen(readSampleSettings().port, '127.0.0.1');
}

void bootstrap();
