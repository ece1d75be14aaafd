/**
 * The changelog table `<table>__changelog`: every change of every flush, appended, so history
 * survives the mirror's deletes. Its schema is fixed (row images are JSON text, so a source
 * schema change never changes it):
 *
 * | id | column | type | |
 * |---|---|---|---|
 * | 1 | operation | string, required | INSERT, UPDATE or DELETE |
 * | 2 | sequence | long, required | the producer's sequence number |
 * | 3 | source | string, required | the producer (source Durable Object) id |
 * | 4 | commit_timestamp | timestamptz, required | when DoLake committed the flush |
 * | 5 | source_timestamp | timestamptz, required | the change's timestamp at the source |
 * | 6 | row_id | string, required | the row's primary key as the producer sent it |
 * | 7 | before | string | row image before the change, JSON |
 * | 8 | after | string | row image after the change, JSON |
 * | 9 | metadata | string | the event's metadata, JSON |
 * | 10 | log_position | long | the event's position in the warehouse's log (subscribe cursors) |
 * | 11 | acked_at | timestamptz | when DoLake acknowledged the event |
 *
 * Columns 10 and 11 came later: changelogs written before have them added (optional, so older
 * rows read as null) by the next flush (`changelogSchemaUpgrade`). Each changelog snapshot's
 * summary carries `dolake.log-position-min` / `-max`.
 */
import { stringifyJson } from "../util/json.js";
import type { CdcChange } from "./cdc-plan.js";
import type { Schema } from "./metadata/types.js";
import type { Row } from "../parquet/writer.js";
import type { Pacer } from "../util/pace.js";
import { ColumnBlock, type ColumnValues } from "../parquet/column-block.js";

/** Suffix of the changelog table's name. */
export const CHANGELOG_SUFFIX = "__changelog";

/** The changelog table name of a mirror table. */
export function changelogTableName(table: string): string {
  return `${table}${CHANGELOG_SUFFIX}`;
}

/** The changelog schema (schema id 0). */
export const CHANGELOG_SCHEMA: Schema = {
  type: "struct",
  "schema-id": 0,
  fields: [
    { id: 1, name: "operation", required: true, type: "string" },
    { id: 2, name: "sequence", required: true, type: "long" },
    { id: 3, name: "source", required: true, type: "string" },
    { id: 4, name: "commit_timestamp", required: true, type: "timestamptz" },
    { id: 5, name: "source_timestamp", required: true, type: "timestamptz" },
    { id: 6, name: "row_id", required: true, type: "string" },
    { id: 7, name: "before", required: false, type: "string" },
    { id: 8, name: "after", required: false, type: "string" },
    { id: 9, name: "metadata", required: false, type: "string" },
    { id: 10, name: "log_position", required: false, type: "long" },
    { id: 11, name: "acked_at", required: false, type: "timestamptz" },
  ],
};

/** Columns added to the changelog after its first version (optional: older rows are null). */
const ADDED_LATER = CHANGELOG_SCHEMA.fields.filter((f) => f.id >= 10);

/**
 * The schema a changelog created before `log_position`/`acked_at` existed evolves to (columns
 * matched by name, new ones get fresh ids), or undefined when it has them already.
 */
export function changelogSchemaUpgrade(current: Schema, lastColumnId: number, nextSchemaId: number): { schema: Schema; lastColumnId: number } | undefined {
  const names = new Set(current.fields.map((f) => f.name));
  const missing = ADDED_LATER.filter((f) => !names.has(f.name));
  if (missing.length === 0) return undefined;
  let id = lastColumnId;
  const fields = [...current.fields, ...missing.map((f) => ({ ...f, id: ++id }))];
  return { schema: { ...current, "schema-id": nextSchemaId, fields }, lastColumnId: id };
}

/** Sources named in a snapshot's `dolake.source-sequences` (a flush of more sources leaves it out). */
export const MAX_SUMMARY_SOURCES = 64;

/**
 * What a mirror snapshot holds, for readers joining it with the change stream: the log positions
 * of its changes (a subscriber from cursor `dolake.log-position-max` gets what came after) and the
 * highest sequence per source, as JSON text (`{"<source>":"<sequence>"}`, up to MAX_SUMMARY_SOURCES).
 */
export function mirrorSummary(changes: readonly CdcChange[]): Record<string, string> {
  const last = new Map<string, bigint>();
  for (const c of changes) {
    const seen = last.get(c.source);
    if (seen === undefined || c.sequence > seen) last.set(c.source, c.sequence);
  }
  const out: Record<string, string> = { "dolake.changes": String(changes.length), ...changelogSummary(changes) };
  if (last.size > 0 && last.size <= MAX_SUMMARY_SOURCES) out["dolake.source-sequences"] = JSON.stringify(Object.fromEntries([...last].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => [k, v.toString()])));
  return out;
}

/** The changelog snapshot's summary: the log positions of its changes. */
export function changelogSummary(changes: readonly CdcChange[]): Record<string, string> {
  let min: bigint | undefined;
  let max: bigint | undefined;
  for (const c of changes) {
    if (c.logPosition === undefined) continue;
    if (min === undefined || c.logPosition < min) min = c.logPosition;
    if (max === undefined || c.logPosition > max) max = c.logPosition;
  }
  return min === undefined ? {} : { "dolake.log-position-min": min.toString(), "dolake.log-position-max": max!.toString() };
}

/**
 * The changelog rows of changes committed at `commitMs`, as columns: the values changelogRow
 * gives, without an object per change (the flush's path; changelogRow stays the definition).
 */
export function changelogColumns(changes: readonly CdcChange[], commitMs: bigint): ColumnBlock {
  const c = emptyColumns(changes.length);
  fillChangelog(c, changes, commitMs * 1000n, 0, changes.length);
  return new ColumnBlock(changes.length, new Map(Object.entries(c)));
}

/** changelogColumns in slices of `sliceRows` changes, awaiting `pace` (src/util/pace.ts) after each. */
export async function changelogColumnsPaced(changes: readonly CdcChange[], commitMs: bigint, pace: Pacer, sliceRows: number, unitsPerRow: number): Promise<ColumnBlock> {
  const c = emptyColumns(changes.length);
  for (let from = 0; from < changes.length; from += sliceRows) {
    const to = Math.min(changes.length, from + sliceRows);
    fillChangelog(c, changes, commitMs * 1000n, from, to);
    await pace.spend((to - from) * unitsPerRow);
  }
  return new ColumnBlock(changes.length, new Map(Object.entries(c)));
}

type ChangelogColumns = ReturnType<typeof emptyColumns>;

function emptyColumns(n: number) {
  const col = (): ColumnValues => new Array(n);
  return {
    operation: col(), sequence: col(), source: col(), commit_timestamp: col(), source_timestamp: col(), row_id: col(),
    before: col(), after: col(), metadata: col(), log_position: col(), acked_at: col(),
  };
}

function fillChangelog(c: ChangelogColumns, changes: readonly CdcChange[], commitMicros: bigint, from: number, to: number): void {
  for (let i = from; i < to; i++) {
    const x = changes[i]!;
    c.operation[i] = x.operation;
    c.sequence[i] = x.sequence;
    c.source[i] = x.source;
    c.commit_timestamp[i] = commitMicros;
    c.source_timestamp[i] = x.timestamp * 1000n;
    c.row_id[i] = x.rowId;
    c.before[i] = x.before === null ? null : stringifyJson(x.before);
    c.after[i] = x.after === null ? null : stringifyJson(x.after);
    c.metadata[i] = x.metadata === null ? null : stringifyJson(x.metadata);
    c.log_position[i] = x.logPosition ?? null;
    c.acked_at[i] = x.ackedAt === undefined ? null : x.ackedAt * 1000n;
  }
}

/** The changelog row of one change committed at `commitMs` (epoch ms). */
export function changelogRow(c: CdcChange, commitMs: bigint): Row {
  return {
    operation: c.operation,
    sequence: c.sequence,
    source: c.source,
    commit_timestamp: commitMs * 1000n,
    source_timestamp: c.timestamp * 1000n,
    row_id: c.rowId,
    before: c.before === null ? null : stringifyJson(c.before),
    after: c.after === null ? null : stringifyJson(c.after),
    metadata: c.metadata === null ? null : stringifyJson(c.metadata),
    log_position: c.logPosition ?? null,
    acked_at: c.ackedAt === undefined ? null : c.ackedAt * 1000n,
  };
}
