import { metrics } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';

/** Call it first in main.ts, before NestFactory.create(AppModule). */
export function startTelemetry(): void {
  metrics.setGlobalMeterProvider(
    new MeterProvider({ readers: [new PrometheusExporter({ port: 9464 })] }), // GET :9464/metrics
  );
}
