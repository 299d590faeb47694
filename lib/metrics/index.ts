// `nestjs-consul-leader/metrics`: OpenTelemetry metrics for elections used without Nest (the Nest
// module records them by itself). Needs `@opentelemetry/api`.
export {
  ElectionMetricNames,
  METER_NAME,
  recordElectionMetrics,
  type MeasuredElection,
} from './election-metrics';
export {
  ClusterCronMetricNames,
  clusterCronMetrics,
  type FireOutcome,
} from './cluster-cron-metrics';
