/**
 * REST `TableUpdate` / `TableRequirement` JSON (already parsed by the BigInt-safe codec) to the
 * table model's types: 64-bit fields become bigint, shapes are checked, and an unknown `action`
 * or `type` is a BadRequestError (400) naming it.
 */
import { BadRequestError } from "./errors.js";
import { partitionStatisticsFromJson, snapshotFromJson, snapshotRefFromJson, statisticsFromJson, toInt, toLong } from "./json.js";
import type { EncryptedKey, PartitionSpec, Schema, SortOrder, TableRequirement, TableUpdate } from "./types.js";

type Obj = Record<string, unknown>;

function obj(value: unknown, what: string): Obj {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new BadRequestError(`Invalid ${what}: expected an object`);
  return value as Obj;
}
function str(o: Obj, key: string): string {
  const v = o[key];
  if (typeof v !== "string") throw new BadRequestError(`Invalid ${String(o.action ?? o.type)}: missing string ${key}`);
  return v;
}
function ints(o: Obj, key: string): number[] {
  const v = o[key];
  if (!Array.isArray(v)) throw new BadRequestError(`Invalid ${String(o.action)}: ${key} must be a list`);
  return v.map((x) => toInt(x, key));
}
function stringMap(v: unknown, what: string): Record<string, string> {
  const o = obj(v, what);
  for (const [k, x] of Object.entries(o)) if (typeof x !== "string") throw new BadRequestError(`Invalid ${what}: value of ${k} must be a string`);
  return o as Record<string, string>;
}
function structured<T>(o: Obj, key: string): T {
  return obj(o[key], `${String(o.action)} ${key}`) as T;
}

/** One TableUpdate from JSON; throws BadRequestError on an unknown action or a bad shape. */
export function tableUpdateFromJson(value: unknown): TableUpdate {
  const o = obj(value, "update");
  const action = o.action;
  switch (action) {
    case "assign-uuid":
      return { action, uuid: str(o, "uuid") };
    case "upgrade-format-version":
      return { action, "format-version": toInt(o["format-version"], "format-version") };
    case "add-schema": {
      const u: TableUpdate = { action, schema: structured<Schema>(o, "schema") };
      if (o["last-column-id"] !== undefined && o["last-column-id"] !== null) u["last-column-id"] = toInt(o["last-column-id"], "last-column-id");
      return u;
    }
    case "set-current-schema":
      return { action, "schema-id": toInt(o["schema-id"], "schema-id") };
    case "add-spec":
      return { action, spec: structured<PartitionSpec>(o, "spec") };
    case "set-default-spec":
      return { action, "spec-id": toInt(o["spec-id"], "spec-id") };
    case "add-sort-order":
      return { action, "sort-order": structured<SortOrder>(o, "sort-order") };
    case "set-default-sort-order":
      return { action, "sort-order-id": toInt(o["sort-order-id"], "sort-order-id") };
    case "add-snapshot":
      return { action, snapshot: snapshotFromJson(o.snapshot) };
    case "set-snapshot-ref":
      return { action, "ref-name": str(o, "ref-name"), ...snapshotRefFromJson(o) };
    case "remove-snapshots": {
      const ids = o["snapshot-ids"];
      if (!Array.isArray(ids)) throw new BadRequestError("Invalid remove-snapshots: snapshot-ids must be a list");
      return { action, "snapshot-ids": ids.map((id) => toLong(id, "snapshot-ids")) };
    }
    case "remove-snapshot-ref":
      return { action, "ref-name": str(o, "ref-name") };
    case "set-location":
      return { action, location: str(o, "location") };
    case "set-properties":
      return { action, updates: stringMap(o.updates, "set-properties updates") };
    case "remove-properties": {
      const removals = o.removals;
      if (!Array.isArray(removals) || removals.some((r) => typeof r !== "string")) {
        throw new BadRequestError("Invalid remove-properties: removals must be a list of strings");
      }
      return { action, removals: removals as string[] };
    }
    case "set-statistics": {
      const u: TableUpdate = { action, statistics: statisticsFromJson(o.statistics) };
      if (o["snapshot-id"] !== undefined && o["snapshot-id"] !== null) u["snapshot-id"] = toLong(o["snapshot-id"], "snapshot-id");
      return u;
    }
    case "remove-statistics":
      return { action, "snapshot-id": toLong(o["snapshot-id"], "snapshot-id") };
    case "set-partition-statistics":
      return { action, "partition-statistics": partitionStatisticsFromJson(o["partition-statistics"]) };
    case "remove-partition-statistics":
      return { action, "snapshot-id": toLong(o["snapshot-id"], "snapshot-id") };
    case "remove-partition-specs":
      return { action, "spec-ids": ints(o, "spec-ids") };
    case "remove-schemas":
      return { action, "schema-ids": ints(o, "schema-ids") };
    case "add-encryption-key": {
      const key = obj(o["encryption-key"], "encryption-key");
      if (typeof key["key-id"] !== "string" || typeof key["encrypted-key-metadata"] !== "string") {
        throw new BadRequestError("Invalid encryption-key: key-id and encrypted-key-metadata are required strings");
      }
      return { action, "encryption-key": key as unknown as EncryptedKey };
    }
    case "remove-encryption-key":
      return { action, "key-id": str(o, "key-id") };
    default:
      throw new BadRequestError(`Cannot apply unknown update action: ${typeof action === "string" ? action : JSON.stringify(action ?? null)}`);
  }
}

/** One TableRequirement from JSON; throws BadRequestError on an unknown type or a bad shape. */
export function tableRequirementFromJson(value: unknown): TableRequirement {
  const o = obj(value, "requirement");
  const type = o.type;
  switch (type) {
    case "assert-create":
      return { type };
    case "assert-table-uuid":
      return { type, uuid: str(o, "uuid") };
    case "assert-ref-snapshot-id": {
      if (!("snapshot-id" in o)) throw new BadRequestError("Invalid assert-ref-snapshot-id: snapshot-id is required (null means the ref must not exist)");
      const id = o["snapshot-id"];
      return { type, ref: str(o, "ref"), "snapshot-id": id === null ? null : toLong(id, "snapshot-id") };
    }
    case "assert-last-assigned-field-id":
      return { type, "last-assigned-field-id": toInt(o["last-assigned-field-id"], "last-assigned-field-id") };
    case "assert-current-schema-id":
      return { type, "current-schema-id": toInt(o["current-schema-id"], "current-schema-id") };
    case "assert-last-assigned-partition-id":
      return { type, "last-assigned-partition-id": toInt(o["last-assigned-partition-id"], "last-assigned-partition-id") };
    case "assert-default-spec-id":
      return { type, "default-spec-id": toInt(o["default-spec-id"], "default-spec-id") };
    case "assert-default-sort-order-id":
      return { type, "default-sort-order-id": toInt(o["default-sort-order-id"], "default-sort-order-id") };
    default:
      throw new BadRequestError(`Unknown requirement type: ${typeof type === "string" ? type : JSON.stringify(type ?? null)}`);
  }
}

/** A list of updates from JSON (absent = none). */
export function tableUpdatesFromJson(value: unknown): TableUpdate[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new BadRequestError("Invalid updates: expected a list");
  return value.map(tableUpdateFromJson);
}

/** A list of requirements from JSON (absent = none). */
export function tableRequirementsFromJson(value: unknown): TableRequirement[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new BadRequestError("Invalid requirements: expected a list");
  return value.map(tableRequirementFromJson);
}
