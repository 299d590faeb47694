// Reading what the library recorded with the real @opentelemetry/sdk-metrics: a reader the test
// collects from when it wants, and the data points of one instrument at that moment.
import { AggregationTemporality, MetricReader, type MetricData } from '@opentelemetry/sdk-metrics';

/** A reader that exports nothing: the test calls `collect()` (cumulative, as Prometheus reads). */
export class CollectingReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

export interface Point {
  readonly attributes: Record<string, unknown>;
  readonly value: unknown;
}

/** The data points of the instrument `name` at a collection now; with `key`, only that election's. */
export async function metricPoints(
  reader: Pick<MetricReader, 'collect'>,
  name: string,
  key?: string,
): Promise<Point[]> {
  const { resourceMetrics } = await reader.collect();
  const metric: MetricData | undefined = resourceMetrics.scopeMetrics
    .flatMap((scope) => scope.metrics)
    .find((candidate) => candidate.descriptor.name === name);
  return (metric?.dataPoints ?? [])
    .map((point) => ({ attributes: point.attributes, value: point.value }))
    .filter((point) => key === undefined || point.attributes.key === key);
}
