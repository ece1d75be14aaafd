/**
 * Applies REST `TableUpdate`s to table metadata, as Java's TableMetadata.Builder does
 * (the reference for every rule and message here): ids of added schemas, specs and sort orders
 * are assigned by the table, `-1` means "last added", `refs.main` and `current-snapshot-id` move
 * together, and snapshot-log, metadata-log, last-sequence-number, last-updated-ms,
 * last-column-id and last-partition-id are maintained. Nothing is ignored: an unknown action is
 * a BadRequestError.
 */
import { stringifyJson } from "../../util/json.js";
import { BadRequestError, checkArgument } from "./errors.js";
import { PARTITION_DATA_ID_START } from "./json.js";
import type { IcebergType, PartitionSpec, Schema, SnapshotLogEntry, SortOrder, TableMetadata, TableUpdate } from "./types.js";

export { checkRequirements } from "./requirements.js";

/** Highest format version this code writes. */
export const SUPPORTED_FORMAT_VERSION = 3;
/** Table property capping the metadata log (Java's default is 100). */
export const PREVIOUS_VERSIONS_MAX = "write.metadata.previous-versions-max";

const LAST_ADDED = -1;

/** A table's current schema. */
export function currentSchema(m: TableMetadata): Schema {
  return m.schemas.find((s) => s["schema-id"] === m["current-schema-id"])!;
}

/** Every field id of a type, nested ones included. */
export function fieldIds(type: IcebergType, into: Set<number> = new Set()): Set<number> {
  if (typeof type === "string") return into;
  if (type.type === "struct") {
    for (const f of type.fields) {
      into.add(f.id);
      fieldIds(f.type, into);
    }
  } else if (type.type === "list") {
    into.add(type["element-id"]);
    fieldIds(type.element, into);
  } else if (type.type === "map") {
    into.add(type["key-id"]).add(type["value-id"]);
    fieldIds(type.key, into);
    fieldIds(type.value, into);
  }
  return into;
}

const same = (a: unknown, b: unknown): boolean => stringifyJson(a) === stringifyJson(b);
const maxOf = (ids: number[], floor: number): number => ids.reduce((m, id) => Math.max(m, id), floor);

/** Mutable working state of one commit's updates. */
class Builder {
  readonly m: TableMetadata;
  lastAddedSchemaId: number | undefined;
  lastAddedSpecId: number | undefined;
  lastAddedOrderId: number | undefined;
  lastUpdatedMs: bigint | undefined;
  readonly addedSnapshots = new Set<bigint>();
  removedSnapshots = false;

  constructor(
    base: TableMetadata,
    readonly now: bigint,
  ) {
    this.m = structuredClone(base);
  }

  currentSchema(): Schema {
    const schema = this.m.schemas.find((s) => s["schema-id"] === this.m["current-schema-id"]);
    if (!schema) throw new BadRequestError(`Current schema ${this.m["current-schema-id"]} is missing from the table`);
    return schema;
  }

  apply(u: TableUpdate): void {
    const m = this.m;
    switch (u.action) {
      case "assign-uuid":
        checkArgument(typeof u.uuid === "string" && u.uuid.length > 0, "Cannot set uuid to null");
        checkArgument(u.uuid.toLowerCase() === m["table-uuid"].toLowerCase(), "Cannot reassign uuid");
        return;
      case "upgrade-format-version": {
        const v = u["format-version"];
        checkArgument(v <= SUPPORTED_FORMAT_VERSION, `Cannot upgrade table to unsupported format version: v${v} (supported: v${SUPPORTED_FORMAT_VERSION})`);
        checkArgument(v >= m["format-version"], `Cannot downgrade v${m["format-version"]} table to v${v}`);
        if (v === m["format-version"]) return;
        m["format-version"] = v as 1 | 2 | 3;
        if (v >= 3 && m["next-row-id"] === undefined) m["next-row-id"] = 0n;
        return;
      }
      case "add-schema":
        return this.addSchema(u.schema, u["last-column-id"]);
      case "set-current-schema": {
        const id = this.resolveLastAdded(u["schema-id"], this.lastAddedSchemaId, "schema");
        checkArgument(m.schemas.some((s) => s["schema-id"] === id), `Cannot set current schema to unknown schema: ${id}`);
        m["current-schema-id"] = id;
        return;
      }
      case "add-spec":
        return this.addSpec(u.spec);
      case "set-default-spec": {
        const id = this.resolveLastAdded(u["spec-id"], this.lastAddedSpecId, "partition spec");
        checkArgument(m["partition-specs"].some((s) => s["spec-id"] === id), `Cannot set default partition spec to unknown spec: ${id}`);
        m["default-spec-id"] = id;
        return;
      }
      case "add-sort-order":
        return this.addSortOrder(u["sort-order"]);
      case "set-default-sort-order": {
        const id = this.resolveLastAdded(u["sort-order-id"], this.lastAddedOrderId, "sort order");
        checkArgument(m["sort-orders"].some((s) => s["order-id"] === id), `Cannot set default sort order to unknown sort order: ${id}`);
        m["default-sort-order-id"] = id;
        return;
      }
      case "add-snapshot":
        return this.addSnapshot(u.snapshot);
      case "set-snapshot-ref":
        return this.setRef(u);
      case "remove-snapshots":
        return this.removeSnapshots(u["snapshot-ids"]);
      case "remove-snapshot-ref":
        return this.removeRef(u["ref-name"]);
      case "set-location":
        checkArgument(typeof u.location === "string" && u.location.length > 0, "Invalid location: empty");
        m.location = u.location;
        return;
      case "set-properties":
        checkArgument(u.updates && typeof u.updates === "object", "Invalid set-properties: updates must be a map");
        for (const [k, v] of Object.entries(u.updates)) {
          checkArgument(typeof v === "string", `Invalid property value for ${k}: must be a string`);
          m.properties[k] = v;
        }
        return;
      case "remove-properties":
        checkArgument(Array.isArray(u.removals), "Invalid remove-properties: removals must be a list");
        for (const k of u.removals) delete m.properties[k];
        return;
      case "set-statistics": {
        const stats = u.statistics;
        checkArgument(u["snapshot-id"] === undefined || u["snapshot-id"] === stats["snapshot-id"], "Invalid set-statistics: snapshot-id does not match statistics");
        m.statistics = [...(m.statistics ?? []).filter((s) => s["snapshot-id"] !== stats["snapshot-id"]), stats];
        return;
      }
      case "remove-statistics":
        m.statistics = (m.statistics ?? []).filter((s) => s["snapshot-id"] !== u["snapshot-id"]);
        return;
      case "set-partition-statistics": {
        const stats = u["partition-statistics"];
        m["partition-statistics"] = [...(m["partition-statistics"] ?? []).filter((s) => s["snapshot-id"] !== stats["snapshot-id"]), stats];
        return;
      }
      case "remove-partition-statistics":
        m["partition-statistics"] = (m["partition-statistics"] ?? []).filter((s) => s["snapshot-id"] !== u["snapshot-id"]);
        return;
      case "remove-partition-specs":
        checkArgument(!u["spec-ids"].includes(m["default-spec-id"]), "Cannot remove the default partition spec");
        m["partition-specs"] = m["partition-specs"].filter((s) => !u["spec-ids"].includes(s["spec-id"]));
        return;
      case "remove-schemas":
        checkArgument(!u["schema-ids"].includes(m["current-schema-id"]), "Cannot remove current schema");
        m.schemas = m.schemas.filter((s) => !u["schema-ids"].includes(s["schema-id"]));
        return;
      case "add-encryption-key": {
        const key = u["encryption-key"];
        checkArgument(key && typeof key["key-id"] === "string", "Invalid encryption key: missing key-id");
        m["encryption-keys"] = [...(m["encryption-keys"] ?? []).filter((k) => k["key-id"] !== key["key-id"]), key];
        return;
      }
      case "remove-encryption-key":
        if (m["encryption-keys"]) m["encryption-keys"] = m["encryption-keys"].filter((k) => k["key-id"] !== u["key-id"]);
        return;
      default:
        throw new BadRequestError(`Cannot apply unknown update action: ${String((u as { action?: unknown }).action)}`);
    }
  }

  resolveLastAdded(id: number, lastAdded: number | undefined, what: string): number {
    if (id !== LAST_ADDED) return id;
    checkArgument(lastAdded !== undefined, `Cannot set last added ${what}: no ${what} has been added`);
    return lastAdded;
  }

  addSchema(schema: Schema, requestedLastColumnId: number | undefined): void {
    checkArgument(schema && schema.type === "struct" && Array.isArray(schema.fields), "Invalid schema: expected a struct with fields");
    const m = this.m;
    const highest = maxOf([...fieldIds(schema)], 0);
    // The request's last-column-id is deprecated in the spec and only ever raises the table's:
    // Java >= 1.10 sends the schema's highest field id, lower than the table's after a column drop,
    // and its TableMetadata.Builder.addSchema(schema) takes max(last-column-id, highest field id).
    const newLast = Math.max(m["last-column-id"], highest, requestedLastColumnId ?? 0);
    const key = { ...schema, "schema-id": 0 };
    const existing = m.schemas.find((s) => same({ ...s, "schema-id": 0 }, key));
    // A new schema gets the highest id + 1 (0 for the first one of a table being created).
    const id = existing ? existing["schema-id"] : maxOf(m.schemas.map((s) => s["schema-id"] + 1), 0);
    if (!existing) m.schemas.push({ ...schema, "schema-id": id });
    m["last-column-id"] = newLast;
    this.lastAddedSchemaId = id;
  }

  addSpec(spec: PartitionSpec | Omit<PartitionSpec, "spec-id">): void {
    checkArgument(spec && Array.isArray(spec.fields), "Invalid partition spec: expected fields");
    const m = this.m;
    const columns = fieldIds(this.currentSchema());
    const known = m["partition-specs"].flatMap((s) => s.fields);
    let last = m["last-partition-id"];
    const fields = spec.fields.map((f) => {
      checkArgument(columns.has(f["source-id"]), `Cannot find source column for partition field: ${f["source-id"]}`);
      let id = f["field-id"] as number | undefined;
      if (id === undefined) {
        const reused = m["format-version"] >= 2 ? known.find((k) => k["source-id"] === f["source-id"] && k.transform === f.transform) : undefined;
        id = reused ? reused["field-id"] : ++last;
      }
      last = Math.max(last, id);
      return { "source-id": f["source-id"], "field-id": id, name: f.name, transform: f.transform };
    });
    const names = new Set(fields.map((f) => f.name));
    checkArgument(names.size === fields.length, "Cannot use partition name more than once");
    const existing = m["partition-specs"].find((s) => same(s.fields, fields));
    const id = existing ? existing["spec-id"] : maxOf(m["partition-specs"].map((s) => s["spec-id"] + 1), 0);
    if (!existing) m["partition-specs"].push({ "spec-id": id, fields });
    m["last-partition-id"] = Math.max(last, PARTITION_DATA_ID_START - 1);
    this.lastAddedSpecId = id;
  }

  addSortOrder(order: SortOrder | Omit<SortOrder, "order-id">): void {
    checkArgument(order && Array.isArray(order.fields), "Invalid sort order: expected fields");
    const m = this.m;
    const columns = fieldIds(this.currentSchema());
    for (const f of order.fields) checkArgument(columns.has(f["source-id"]), `Cannot find source column for sort field: ${f["source-id"]}`);
    const fields = order.fields.map((f) => ({ "source-id": f["source-id"], transform: f.transform, direction: f.direction, "null-order": f["null-order"] }));
    const existing = fields.length === 0 ? m["sort-orders"].find((s) => s.fields.length === 0) : m["sort-orders"].find((s) => same(s.fields, fields));
    const id = fields.length === 0 ? 0 : existing ? existing["order-id"] : maxOf(m["sort-orders"].map((s) => s["order-id"] + 1), 1);
    if (!existing) m["sort-orders"].push({ "order-id": id, fields });
    this.lastAddedOrderId = id;
  }

  addSnapshot(snapshot: TableMetadata["snapshots"][number]): void {
    const m = this.m;
    const id = snapshot["snapshot-id"];
    checkArgument(!m.snapshots.some((s) => s["snapshot-id"] === id), `Snapshot already exists for id: ${id}`);
    const seq = snapshot["sequence-number"] ?? 0n;
    if (m["format-version"] >= 2) {
      checkArgument(
        seq > m["last-sequence-number"] || snapshot["parent-snapshot-id"] === undefined,
        `Cannot add snapshot with sequence number ${seq} older than last sequence number ${m["last-sequence-number"]}`,
      );
    }
    if (m["format-version"] >= 3) {
      const first = snapshot["first-row-id"];
      const added = snapshot["added-rows"];
      const next = m["next-row-id"] ?? 0n;
      checkArgument(first !== undefined, "Cannot add a snapshot: first-row-id is null");
      checkArgument(added !== undefined, "Cannot add a snapshot: added-rows is null");
      checkArgument(first >= next, `Cannot add a snapshot, first-row-id is behind table next-row-id: ${first} < ${next}`);
      m["next-row-id"] = next + added;
    }
    m.snapshots.push(snapshot);
    this.addedSnapshots.add(id);
    this.lastUpdatedMs = snapshot["timestamp-ms"];
    if (seq > m["last-sequence-number"]) m["last-sequence-number"] = seq;
  }

  setRef(u: Extract<TableUpdate, { action: "set-snapshot-ref" }>): void {
    const m = this.m;
    const { action: _action, "ref-name": name, ...ref } = u;
    checkArgument(typeof name === "string" && name.length > 0, "Invalid ref name: empty");
    checkArgument(ref.type === "branch" || ref.type === "tag", `Invalid ref type: ${String(ref.type)}`);
    checkArgument(name !== "main" || ref.type === "branch", "Cannot set main to a tag: main must be a branch");
    if (ref.type === "tag") {
      checkArgument(ref["min-snapshots-to-keep"] === undefined, "Tags do not support setting minSnapshotsToKeep");
      checkArgument(ref["max-snapshot-age-ms"] === undefined, "Tags do not support setting maxSnapshotAgeMs");
    }
    const existing = m.refs[name];
    if (existing && same(existing, ref)) return;
    const snapshot = m.snapshots.find((s) => s["snapshot-id"] === ref["snapshot-id"]);
    checkArgument(snapshot !== undefined, `Cannot set ${name} to unknown snapshot: ${ref["snapshot-id"]}`);
    if (this.addedSnapshots.has(snapshot["snapshot-id"])) this.lastUpdatedMs = snapshot["timestamp-ms"];
    m.refs[name] = ref;
    if (name === "main") {
      m["current-snapshot-id"] = ref["snapshot-id"];
      this.lastUpdatedMs ??= this.now;
      m["snapshot-log"].push({ "timestamp-ms": this.lastUpdatedMs, "snapshot-id": ref["snapshot-id"] });
    }
  }

  removeRef(name: string): void {
    if (name === "main") delete this.m["current-snapshot-id"];
    delete this.m.refs[name];
  }

  removeSnapshots(ids: readonly bigint[]): void {
    const m = this.m;
    const remove = new Set(ids);
    m.snapshots = m.snapshots.filter((s) => !remove.has(s["snapshot-id"]));
    if (m.statistics) m.statistics = m.statistics.filter((s) => !remove.has(s["snapshot-id"]));
    if (m["partition-statistics"]) m["partition-statistics"] = m["partition-statistics"].filter((s) => !remove.has(s["snapshot-id"]));
    for (const [name, ref] of Object.entries(m.refs)) if (remove.has(ref["snapshot-id"])) this.removeRef(name);
    this.removedSnapshots = true;
  }

  /** Java's updateSnapshotLog: drop intermediate snapshots of this commit and history before a removed one. */
  finishSnapshotLog(): void {
    const m = this.m;
    const current = m["current-snapshot-id"];
    const intermediate = new Set([...this.addedSnapshots].filter((id) => id !== current));
    if (intermediate.size === 0 && !this.removedSnapshots) return;
    const valid = new Set(m.snapshots.map((s) => s["snapshot-id"]));
    let log: SnapshotLogEntry[] = [];
    for (const entry of m["snapshot-log"]) {
      if (!valid.has(entry["snapshot-id"])) log = [];
      else if (!intermediate.has(entry["snapshot-id"])) log.push(entry);
    }
    m["snapshot-log"] = log;
  }
}

/**
 * Applies `updates` to `base` and returns new metadata (base is not modified). With no updates
 * the result is `base` itself, so a caller can skip writing a metadata file. `now` is epoch ms;
 * `last-updated-ms` becomes the added snapshot's timestamp when one was added, else `now`.
 * When `previousMetadataLocation` is given (the file `base` was read from), it is appended to
 * the metadata-log, capped by `write.metadata.previous-versions-max` (default 100).
 */
export function applyUpdates(base: TableMetadata, updates: readonly TableUpdate[], now: bigint, previousMetadataLocation?: string): TableMetadata {
  if (updates.length === 0) return base;
  const b = new Builder(base, now);
  for (const update of updates) {
    checkArgument(update && typeof update === "object", "Invalid update: expected an object");
    b.apply(update);
  }
  b.finishSnapshotLog();
  const m = b.m;
  m["last-updated-ms"] = b.lastUpdatedMs ?? now;
  if (previousMetadataLocation !== undefined) {
    m["metadata-log"].push({ "metadata-file": previousMetadataLocation, "timestamp-ms": base["last-updated-ms"] });
    const max = Math.max(1, Number.parseInt(m.properties[PREVIOUS_VERSIONS_MAX] ?? "100", 10) || 100);
    if (m["metadata-log"].length > max) m["metadata-log"] = m["metadata-log"].slice(-max);
  }
  return m;
}
