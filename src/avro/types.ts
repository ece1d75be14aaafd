/**
 * Avro schemas as JSON (Avro 1.11 specification, "Schema Declaration"), plus the JS shapes this
 * codebase uses for Avro values. Extra attributes (Iceberg's `field-id`, `element-id`,
 * `logicalType`, `adjust-to-utc`) ride along on the schema objects and are written verbatim
 * into the container file's `avro.schema`.
 */

/** A primitive Avro type name. */
export type AvroPrimitive = "null" | "boolean" | "int" | "long" | "float" | "double" | "bytes" | "string";

/** A record field. `field-id` is Iceberg's id attribute. */
export interface AvroField {
  name: string;
  type: AvroSchema;
  default?: unknown;
  doc?: string;
  "field-id"?: number;
  [attribute: string]: unknown;
}

/** A record schema. */
export interface AvroRecord {
  type: "record";
  name: string;
  namespace?: string;
  doc?: string;
  fields: AvroField[];
  [attribute: string]: unknown;
}

/** An array schema; Iceberg adds `element-id` (and `logicalType: "map"` for k/v arrays). */
export interface AvroArray {
  type: "array";
  items: AvroSchema;
  "element-id"?: number;
  logicalType?: string;
  [attribute: string]: unknown;
}

/** A map schema (string keys); Iceberg adds `key-id` and `value-id`. */
export interface AvroMap {
  type: "map";
  values: AvroSchema;
  [attribute: string]: unknown;
}

/** A fixed schema. */
export interface AvroFixed {
  type: "fixed";
  name: string;
  namespace?: string;
  size: number;
  [attribute: string]: unknown;
}

/** An enum schema. */
export interface AvroEnum {
  type: "enum";
  name: string;
  namespace?: string;
  symbols: string[];
  [attribute: string]: unknown;
}

/** A primitive written as an object, to carry a logical type (`{"type":"long","logicalType":...}`). */
export interface AvroAnnotatedPrimitive {
  type: AvroPrimitive;
  logicalType?: string;
  [attribute: string]: unknown;
}

/** Any Avro schema: a (named or primitive) type name, a union, or a complex type. */
export type AvroSchema =
  | AvroPrimitive
  | string
  | AvroSchema[]
  | AvroRecord
  | AvroArray
  | AvroMap
  | AvroFixed
  | AvroEnum
  | AvroAnnotatedPrimitive;

/**
 * An Avro value in JS: null, boolean, int/float/double as number, long as bigint (a number is
 * accepted when writing), bytes/fixed as Uint8Array, string and enum as string, array as array,
 * map as Map<string, value> (a plain object is accepted when writing), record as a plain object
 * keyed by field name. Union values are the branch's value (the branch is chosen by shape).
 */
export type AvroValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | AvroValue[]
  | Map<string, AvroValue>
  | { [field: string]: AvroValue | undefined };
