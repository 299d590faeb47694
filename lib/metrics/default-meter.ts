import type { Meter } from '@opentelemetry/api';
import { METER_NAME } from './election-metrics';

/**
 * The meter of the app's global OpenTelemetry meter provider, or null when `@opentelemetry/api` is
 * not installed (it is an optional peer: apps without it never load it). Without a registered SDK the
 * global provider is a no-op and so is every instrument. Ask at election start, not at import: an app
 * registers its SDK before it creates the Nest app, and the metrics API has no proxy that would
 * forward instruments created earlier.
 */
export function defaultMeter(): Meter | null {
  let api: typeof import('@opentelemetry/api');
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    api = require('@opentelemetry/api') as typeof import('@opentelemetry/api');
  } catch {
    return null;
  }
  return api.metrics.getMeter(METER_NAME);
}
