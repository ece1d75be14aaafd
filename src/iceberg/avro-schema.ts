/**
 * Iceberg primitive types as Avro schemas (Iceberg spec, Appendix A "Avro" type mapping) and the
 * conversion of values between the two, for the partition tuple (`r102`) of manifests.
 */
import type { AvroField, AvroRecord, AvroSchema, AvroValue } from "../avro/types.js";
import type { PartitionSpec, Schema } from "./metadata/types.js";
import { decimalBytes, uuidBytes } from "./murmur3.js";
import { parsePrimitive, type Primitive, type PrimitiveValue } from "./primitive.js";
import { fromSingleValue } from "./single-value.js";
import { parseTransform, transformResultType } from "./transforms.js";
import { decimalFixedLength } from "../parquet/schema.js";

/** The Avro schema of an Iceberg primitive type (spec Appendix A). */
export function avroPrimitive(type: string): AvroSchema {
  const p = parsePrimitive(type);
  switch (p.kind) {
    case "boolean":
    case "int":
    case "long":
    case "float":
    case "double":
    case "string":
      return p.kind;
    case "binary":
      return "bytes";
    case "date":
      return { type: "int", logicalType: "date" };
    case "time":
      return { type: "long", logicalType: "time-micros" };
    case "timestamp":
      return { type: "long", logicalType: "timestamp-micros", "adjust-to-utc": false };
    case "timestamptz":
      return { type: "long", logicalType: "timestamp-micros", "adjust-to-utc": true };
    case "uuid":
      return { type: "fixed", name: "uuid_fixed", size: 16, logicalType: "uuid" };
    case "fixed":
      return { type: "fixed", name: `fixed_${p.length}`, size: p.length };
    case "decimal":
      return { type: "fixed", name: `decimal_${p.precision}_${p.scale}`, size: decimalFixedLength(p.precision), logicalType: "decimal", precision: p.precision, scale: p.scale };
  }
}

/** An Iceberg value as the Avro value of avroPrimitive(type). */
export function toAvroValue(p: Primitive, v: PrimitiveValue | null): AvroValue {
  if (v === null) return null;
  if (p.kind === "uuid") return uuidBytes(v as string);
  if (p.kind === "decimal") {
    // Avro decimal as fixed: big-endian two's complement, sign-extended to the fixed size.
    const size = decimalFixedLength(p.precision);
    const min = decimalBytes(v as bigint);
    const out = new Uint8Array(size).fill((v as bigint) < 0n ? 0xff : 0);
    out.set(min, size - min.length);
    return out;
  }
  return v;
}

/** An Avro value back as the Iceberg value of the primitive type. */
export function fromAvroValue(p: Primitive, v: AvroValue): PrimitiveValue | null {
  if (v === null) return null;
  if (p.kind === "uuid" || p.kind === "decimal") return fromSingleValue(p, v as Uint8Array);
  return v as PrimitiveValue;
}

/** Java's AvroSchemaUtil.makeCompatibleName: a valid Avro name for any field name. */
export function avroName(name: string): string {
  let out = "";
  [...name].forEach((ch, i) => {
    const ok = i === 0 ? /[A-Za-z_]/.test(ch) : /[A-Za-z0-9_]/.test(ch);
    if (ok) out += ch;
    else if (/[0-9]/.test(ch)) out += `_${ch}`;
    else out += `_x${ch.codePointAt(0)!.toString(16).toUpperCase()}`;
  });
  return out || "_";
}

/** A partition field with its source type, result type and parsed transform. */
export interface BoundPartitionField {
  name: string;
  fieldId: number;
  sourceId: number;
  sourceName: string;
  sourceType: string;
  transform: ReturnType<typeof parseTransform>;
  resultType: string;
  result: Primitive;
}

/** Binds a spec's fields to the schema's columns. Throws if a source column is missing or nested. */
export function bindSpec(spec: PartitionSpec, schema: Schema): BoundPartitionField[] {
  return spec.fields.map((f) => {
    const source = schema.fields.find((c) => c.id === f["source-id"]);
    if (!source || typeof source.type !== "string") throw new TypeError(`partition field ${f.name}: source column ${f["source-id"]} is not a top-level primitive column`);
    const transform = parseTransform(f.transform);
    const resultType = transformResultType(transform, source.type);
    return { name: f.name, fieldId: f["field-id"], sourceId: source.id, sourceName: source.name, sourceType: source.type, transform, resultType, result: parsePrimitive(resultType) };
  });
}

/** The Avro record `r102` for a spec's partition tuple (spec "Manifests": partition struct). */
export function partitionAvroSchema(fields: BoundPartitionField[]): AvroRecord {
  const avroFields: AvroField[] = fields.map((f) => ({
    name: avroName(f.name),
    type: ["null", avroPrimitive(f.resultType)],
    default: null,
    "field-id": f.fieldId,
  }));
  return { type: "record", name: "r102", fields: avroFields };
}
