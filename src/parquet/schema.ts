/**
 * Iceberg schema -> Parquet schema (Iceberg spec, "Parquet" appendix, "Data Type Mappings"):
 * every column carries its Iceberg field id in SchemaElement.field_id, required -> REQUIRED,
 * optional -> OPTIONAL, with the spec's physical and logical types. Only primitive columns are
 * supported: DoLake stores nested JSON as JSON text in string columns (docs/iceberg-mapping.md),
 * so a struct/list/map column is refused with a TypeError that names it.
 */
import type { SchemaElement } from "hyparquet";
import type { NestedField } from "../iceberg/metadata/types.js";
import { parsePrimitive, type Primitive } from "../iceberg/primitive.js";

/** The Parquet schema elements (root first) for a list of top-level Iceberg fields. */
export function parquetSchema(fields: NestedField[]): SchemaElement[] {
  const root: SchemaElement = { name: "table", num_children: fields.length };
  return [root, ...fields.map(columnElement)];
}

/** Minimal FIXED_LEN_BYTE_ARRAY length that holds a decimal of this precision. */
export function decimalFixedLength(precision: number): number {
  let bytes = 1;
  while (10n ** BigInt(precision) > 1n << BigInt(8 * bytes - 1)) bytes++;
  return bytes;
}

/** The Parquet schema element of one primitive Iceberg column. */
export function columnElement(field: NestedField): SchemaElement {
  if (typeof field.type !== "string") {
    throw new TypeError(`column ${field.name}: nested type ${field.type.type} is not supported by the Parquet writer`);
  }
  const p = parsePrimitive(field.type);
  const base: SchemaElement = {
    name: field.name,
    repetition_type: field.required ? "REQUIRED" : "OPTIONAL",
    field_id: field.id,
  };
  return { ...base, ...physical(p) };
}

function physical(p: Primitive): Partial<SchemaElement> {
  switch (p.kind) {
    case "boolean":
      return { type: "BOOLEAN" };
    case "int":
      return { type: "INT32" };
    case "long":
      return { type: "INT64" };
    case "float":
      return { type: "FLOAT" };
    case "double":
      return { type: "DOUBLE" };
    case "date":
      return { type: "INT32", converted_type: "DATE", logical_type: { type: "DATE" } };
    case "time":
      return { type: "INT64", converted_type: "TIME_MICROS", logical_type: { type: "TIME", isAdjustedToUTC: false, unit: "MICROS" } };
    case "timestamp":
      return { type: "INT64", logical_type: { type: "TIMESTAMP", isAdjustedToUTC: false, unit: "MICROS" } };
    case "timestamptz":
      return { type: "INT64", converted_type: "TIMESTAMP_MICROS", logical_type: { type: "TIMESTAMP", isAdjustedToUTC: true, unit: "MICROS" } };
    case "string":
      return { type: "BYTE_ARRAY", converted_type: "UTF8", logical_type: { type: "STRING" } };
    case "binary":
      return { type: "BYTE_ARRAY" };
    case "uuid":
      return { type: "FIXED_LEN_BYTE_ARRAY", type_length: 16, logical_type: { type: "UUID" } };
    case "fixed":
      return { type: "FIXED_LEN_BYTE_ARRAY", type_length: p.length };
    case "decimal": {
      const dec = { converted_type: "DECIMAL" as const, precision: p.precision, scale: p.scale, logical_type: { type: "DECIMAL" as const, precision: p.precision, scale: p.scale } };
      if (p.precision <= 9) return { type: "INT32", ...dec };
      if (p.precision <= 18) return { type: "INT64", ...dec };
      return { type: "FIXED_LEN_BYTE_ARRAY", type_length: decimalFixedLength(p.precision), ...dec };
    }
  }
}
