/**
 * DoLake configuration: the product docs' defaults (dolake-package-reference.md), overridable per
 * deployment with the DOLAKE_CONFIG var (a JSON object of the keys below).
 */
import { DEFAULT_COMPACTION_CONFIG, type CompactionConfig } from "./iceberg/compaction-plan.js";

/** Every knob, with the unit in its name or comment. */
export interface DoLakeConfig {
  /** Namespace that CDC tables are created in. */
  namespace: string;
  /** Flush when this many events are buffered. */
  flushThresholdEvents: number;
  /** Flush when this many bytes are buffered. */
  flushThresholdBytes: number;
  /** Flush when the oldest buffered batch is this old (ms); an alarm makes an idle buffer flush too. */
  flushThresholdMs: number;
  /** Durable buffer capacity (bytes): at 100% batches are refused with buffer_full. */
  maxBufferSize: number;
  /** Utilization (0..1) above which acks carry suggestedDelayMs. */
  backpressureThreshold: number;
  /** Per connection: token bucket refill, messages per second. */
  messagesPerSecond: number;
  /** Per connection: token bucket capacity (burst). */
  burstCapacity: number;
  /** Per source (all its connections): messages per second. */
  sourceMessagesPerSecond: number;
  /** Per source: token bucket capacity. */
  sourceBurstCapacity: number;
  /** New WebSocket connections per second, per DoLake object. */
  connectionsPerSecond: number;
  /** Largest frame, bytes. */
  maxPayloadSize: number;
  /** Largest single event, bytes. */
  maxEventSize: number;
  /** Largest batch, events. */
  maxBatchEvents: number;
  /** Open sockets per source id. */
  maxConnectionsPerSource: number;
  /** Open sockets per client IP. */
  maxConnectionsPerIp: number;
  /** Base delay of retry hints (ms). */
  baseRetryDelayMs: number;
  /** Largest retry hint (ms). */
  maxRetryDelayMs: number;
  /** Parquet compression (zstd is not offered: no pure-JS zstd encoder runs in workerd). */
  parquetCompression: "none" | "snappy" | "gzip";
  /** Rows per Parquet row group. */
  parquetRowGroupSize: number;
  /** Target size of one data file (bytes). */
  targetFileSizeBytes: number;
  /** Largest portion of the buffer one flush step takes (bytes), bounding memory. */
  maxFlushBytes: number;
  /** Partitioning of mirror tables at creation, by source table: [{column, transform}], e.g. {"events": [{"column": "ts", "transform": "day"}]}. */
  partitionBy: Record<string, Array<{ column: string; transform: string; name?: string }>>;
  /** Infer timestamptz columns from ISO-8601 strings with a zone (off: they stay strings). */
  detectTimestamps: boolean;
  /** Compaction of CDC tables (docs/maintenance.md); a PATCH may set some keys only. */
  compaction: CompactionConfig;
}

/** The defaults. */
export const DEFAULT_CONFIG: DoLakeConfig = {
  namespace: "default",
  flushThresholdEvents: 10_000,
  flushThresholdBytes: 32 * 1024 * 1024,
  flushThresholdMs: 60_000,
  maxBufferSize: 128 * 1024 * 1024,
  backpressureThreshold: 0.8,
  messagesPerSecond: 100,
  burstCapacity: 50,
  sourceMessagesPerSecond: 200,
  sourceBurstCapacity: 100,
  connectionsPerSecond: 20,
  maxPayloadSize: 4 * 1024 * 1024,
  maxEventSize: 1024 * 1024,
  maxBatchEvents: 10_000,
  maxConnectionsPerSource: 5,
  maxConnectionsPerIp: 30,
  baseRetryDelayMs: 100,
  maxRetryDelayMs: 30_000,
  parquetCompression: "snappy",
  parquetRowGroupSize: 100_000,
  targetFileSizeBytes: 128 * 1024 * 1024,
  // 4 MiB of buffered batches decode to ~60 MB of rows in flight: a 16 MiB step did not fit the
  // DO's 128 MB (bench/flush/RESULTS.md, heap-capped runs).
  maxFlushBytes: 4 * 1024 * 1024,
  partitionBy: {},
  detectTimestamps: false,
  compaction: DEFAULT_COMPACTION_CONFIG,
};

/** A compaction override: known keys of the right type, numbers >= 1 (intervals >= 1000 ms); merged over `base`. */
function resolveCompaction(value: unknown, base: CompactionConfig): CompactionConfig {
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new ConfigError("DOLAKE_CONFIG.compaction: expected an object");
  const out: Record<string, unknown> = { ...base };
  for (const [key, v] of Object.entries(value)) {
    const def = (DEFAULT_COMPACTION_CONFIG as unknown as Record<string, unknown>)[key];
    if (def === undefined) throw new ConfigError(`DOLAKE_CONFIG.compaction: unknown key "${key}"`);
    if (typeof v !== typeof def) throw new ConfigError(`DOLAKE_CONFIG.compaction.${key}: expected a ${typeof def}`);
    if (typeof v === "number" && !(Number.isInteger(v) && v >= (key === "compactionIntervalMs" ? 1000 : 1))) throw new ConfigError(`DOLAKE_CONFIG.compaction.${key}: must be an integer >= ${key === "compactionIntervalMs" ? 1000 : 1}`);
    out[key] = v;
  }
  return out as unknown as CompactionConfig;
}

/** Iceberg partition transforms (spec: "Partition Transforms"). */
const TRANSFORM = /^(identity|year|month|day|hour|void|bucket\[[1-9]\d*\]|truncate\[[1-9]\d*\])$/;

/** A partitionBy override must be {table: [{column, transform, name?}]} with valid transforms. */
function checkPartitionBy(value: unknown): void {
  if (value === null || Array.isArray(value)) throw new ConfigError("DOLAKE_CONFIG.partitionBy: expected an object of table -> fields");
  for (const [table, fields] of Object.entries(value as object)) {
    if (!Array.isArray(fields)) throw new ConfigError(`DOLAKE_CONFIG.partitionBy.${table}: expected an array of {column, transform}`);
    for (const f of fields as Array<Record<string, unknown>>) {
      if (typeof f?.column !== "string" || f.column === "") throw new ConfigError(`DOLAKE_CONFIG.partitionBy.${table}: every field needs a column`);
      if (typeof f.transform !== "string" || !TRANSFORM.test(f.transform)) {
        throw new ConfigError(`DOLAKE_CONFIG.partitionBy.${table}: ${JSON.stringify(f.transform)} is not an Iceberg transform (identity, year, month, day, hour, bucket[N], truncate[W], void)`);
      }
    }
  }
}

/** Thrown when DOLAKE_CONFIG is not a valid override. */
export class ConfigError extends Error {}

/** `base` (DEFAULT_CONFIG by default) with the overrides of a JSON text or object applied; unknown keys and wrong types are errors. */
export function resolveConfig(overrides: string | undefined | Partial<DoLakeConfig>, base: DoLakeConfig = DEFAULT_CONFIG): DoLakeConfig {
  if (overrides === undefined || overrides === "") return { ...base };
  let parsed: unknown = overrides;
  if (typeof overrides === "string") {
    try {
      parsed = JSON.parse(overrides);
    } catch (e) {
      throw new ConfigError(`DOLAKE_CONFIG is not JSON: ${(e as Error).message}`);
    }
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new ConfigError("DOLAKE_CONFIG must be a JSON object");
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(parsed)) {
    const def = (DEFAULT_CONFIG as unknown as Record<string, unknown>)[key];
    if (def === undefined) throw new ConfigError(`DOLAKE_CONFIG: unknown key "${key}"`);
    if (typeof value !== typeof def) throw new ConfigError(`DOLAKE_CONFIG.${key}: expected a ${typeof def}`);
    if (typeof value === "number" && !(value >= 0)) throw new ConfigError(`DOLAKE_CONFIG.${key}: must be >= 0`);
    if (key === "parquetCompression" && !["none", "snappy", "gzip"].includes(value as string)) {
      throw new ConfigError(`DOLAKE_CONFIG.parquetCompression: ${JSON.stringify(value)} is not one of none, snappy, gzip`);
    }
    if (key === "partitionBy") checkPartitionBy(value);
    out[key] = key === "compaction" ? resolveCompaction(value, base.compaction) : value;
  }
  return out as unknown as DoLakeConfig;
}
