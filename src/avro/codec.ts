/**
 * Schema interpretation: turns an Avro schema into a tree of plain closures that write and read
 * values (no eval / new Function, so it runs in workerd). Named types (record, fixed, enum) may
 * be referenced by name after their definition, recursively.
 */
import { AvroBuffer, AvroCursor } from "./binary.js";
import type { AvroField, AvroSchema, AvroValue } from "./types.js";

/** Writes and reads values of one schema. */
export interface AvroCodec {
  /** Appends the value's binary encoding. Throws a TypeError naming the path on a bad value. */
  write(buf: AvroBuffer, value: AvroValue | undefined, path?: string): void;
  /** Reads one value. */
  read(cur: AvroCursor): AvroValue;
  /** True if `value` has the shape this schema writes (used to pick union branches). */
  accepts(value: AvroValue | undefined): boolean;
}

const PRIMITIVES = new Set(["null", "boolean", "int", "long", "float", "double", "bytes", "string"]);

function fail(path: string, want: string, value: unknown): never {
  const shown = typeof value === "bigint" ? `${value}n` : typeof value === "object" ? Object.prototype.toString.call(value) : JSON.stringify(value);
  throw new TypeError(`avro: ${path || "value"} must be ${want}, got ${shown}`);
}

function isPlainObject(v: unknown): v is Record<string, AvroValue> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof Map);
}

function fullName(name: string, namespace: string | undefined): string {
  return name.includes(".") || !namespace ? name : `${namespace}.${name}`;
}

const PRIMITIVE_CODECS: Record<string, AvroCodec> = {
  null: {
    write: (_b, v, p) => (v === null || v === undefined ? undefined : fail(p ?? "", "null", v)),
    read: () => null,
    accepts: (v) => v === null || v === undefined,
  },
  boolean: {
    write: (b, v, p) => (typeof v === "boolean" ? b.writeBoolean(v) : fail(p ?? "", "a boolean", v)),
    read: (c) => c.readBoolean(),
    accepts: (v) => typeof v === "boolean",
  },
  int: {
    write: (b, v, p) => (typeof v === "number" && Number.isInteger(v) ? b.writeInt(v) : fail(p ?? "", "an int", v)),
    read: (c) => c.readInt(),
    accepts: (v) => typeof v === "number" && Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff,
  },
  long: {
    write: (b, v, p) => (typeof v === "bigint" || (typeof v === "number" && Number.isSafeInteger(v)) ? b.writeLong(v) : fail(p ?? "", "a long (bigint)", v)),
    read: (c) => c.readLong(),
    accepts: (v) => typeof v === "bigint" || (typeof v === "number" && Number.isSafeInteger(v)),
  },
  float: {
    write: (b, v, p) => (typeof v === "number" ? b.writeFloat(v) : fail(p ?? "", "a float", v)),
    read: (c) => c.readFloat(),
    accepts: (v) => typeof v === "number",
  },
  double: {
    write: (b, v, p) => (typeof v === "number" ? b.writeDouble(v) : fail(p ?? "", "a double", v)),
    read: (c) => c.readDouble(),
    accepts: (v) => typeof v === "number",
  },
  bytes: {
    write: (b, v, p) => (v instanceof Uint8Array ? b.writeBytes(v) : fail(p ?? "", "bytes (Uint8Array)", v)),
    read: (c) => c.readBytes(),
    accepts: (v) => v instanceof Uint8Array,
  },
  string: {
    write: (b, v, p) => (typeof v === "string" ? b.writeString(v) : fail(p ?? "", "a string", v)),
    read: (c) => c.readString(),
    accepts: (v) => typeof v === "string",
  },
};

/** Compiles a schema into a codec. Throws on an invalid schema or an unknown named type. */
export function compileSchema(schema: AvroSchema): AvroCodec {
  const named = new Map<string, AvroCodec>();
  return compile(schema, undefined, named);
}

function compile(schema: AvroSchema, namespace: string | undefined, named: Map<string, AvroCodec>): AvroCodec {
  if (typeof schema === "string") {
    const primitive = PRIMITIVE_CODECS[schema];
    if (primitive) return primitive;
    const ref = named.get(fullName(schema, namespace)) ?? named.get(schema);
    if (!ref) throw new TypeError(`avro: unknown type ${schema}`);
    return ref;
  }
  if (Array.isArray(schema)) return compileUnion(schema, namespace, named);
  switch (schema.type) {
    case "record":
      return compileRecord(schema.name, schema.namespace ?? namespace, schema.fields as AvroField[], named);
    case "array":
      return compileArray(compile(schema.items as AvroSchema, namespace, named));
    case "map":
      return compileMap(compile(schema.values as AvroSchema, namespace, named));
    case "fixed":
      return register(named, fullName(schema.name as string, schema.namespace ?? namespace), compileFixed(schema.size as number));
    case "enum":
      return register(named, fullName(schema.name as string, schema.namespace ?? namespace), compileEnum(schema.symbols as string[]));
    default: {
      const inner = (schema as { type: unknown }).type;
      if (typeof inner === "string" && PRIMITIVES.has(inner)) return PRIMITIVE_CODECS[inner]!;
      if (typeof inner === "string" || (typeof inner === "object" && inner !== null)) return compile(inner as AvroSchema, namespace, named);
      throw new TypeError(`avro: invalid schema ${JSON.stringify(schema)}`);
    }
  }
}

function register(named: Map<string, AvroCodec>, name: string, codec: AvroCodec): AvroCodec {
  if (named.has(name)) throw new TypeError(`avro: type ${name} defined twice`);
  named.set(name, codec);
  return codec;
}

function compileRecord(name: string, namespace: string | undefined, fields: AvroField[], named: Map<string, AvroCodec>): AvroCodec {
  // Register before compiling fields so recursive references resolve (codecs filled in below).
  const codecs: { name: string; codec: AvroCodec }[] = [];
  const codec: AvroCodec = {
    write(buf, value, path = "") {
      if (!isPlainObject(value)) fail(path, `a ${name} record (object)`, value);
      for (const f of codecs) f.codec.write(buf, value[f.name] ?? null, path ? `${path}.${f.name}` : f.name);
    },
    read(cur) {
      const out: Record<string, AvroValue> = {};
      for (const f of codecs) out[f.name] = f.codec.read(cur);
      return out;
    },
    accepts: (v) => isPlainObject(v),
  };
  register(named, fullName(name, namespace), codec);
  for (const f of fields) codecs.push({ name: f.name, codec: compile(f.type, namespace, named) });
  return codec;
}

function compileUnion(branches: AvroSchema[], namespace: string | undefined, named: Map<string, AvroCodec>): AvroCodec {
  const codecs = branches.map((b) => compile(b, namespace, named));
  return {
    write(buf, value, path = "") {
      const i = codecs.findIndex((c) => c.accepts(value));
      if (i < 0) fail(path, `one of ${JSON.stringify(branches).slice(0, 120)}`, value);
      buf.writeInt(i);
      codecs[i]!.write(buf, value, path);
    },
    read(cur) {
      const i = cur.readInt();
      const c = codecs[i];
      if (!c) throw new RangeError(`avro: union branch ${i} out of range`);
      return c.read(cur);
    },
    accepts: (v) => codecs.some((c) => c.accepts(v)),
  };
}

function compileArray(items: AvroCodec): AvroCodec {
  return {
    write(buf, value, path = "") {
      if (!Array.isArray(value)) fail(path, "an array", value);
      // One block holding every item, then the zero-count terminator.
      if (value.length > 0) {
        buf.writeLong(value.length);
        for (let i = 0; i < value.length; i++) items.write(buf, value[i], `${path}[${i}]`);
      }
      buf.writeLong(0);
    },
    read(cur) {
      const out: AvroValue[] = [];
      readBlocks(cur, () => out.push(items.read(cur)));
      return out;
    },
    accepts: (v) => Array.isArray(v),
  };
}

function compileMap(values: AvroCodec): AvroCodec {
  return {
    write(buf, value, path = "") {
      let entries: [string, AvroValue][];
      if (value instanceof Map) entries = [...value.entries()];
      else if (isPlainObject(value)) entries = Object.entries(value) as [string, AvroValue][];
      else fail(path, "a map (Map or object)", value);
      if (entries.length > 0) {
        buf.writeLong(entries.length);
        for (const [k, v] of entries) {
          buf.writeString(k);
          values.write(buf, v, `${path}[${JSON.stringify(k)}]`);
        }
      }
      buf.writeLong(0);
    },
    read(cur) {
      const out = new Map<string, AvroValue>();
      readBlocks(cur, () => out.set(cur.readString(), values.read(cur)));
      return out;
    },
    accepts: (v) => v instanceof Map || isPlainObject(v),
  };
}

function readBlocks(cur: AvroCursor, item: () => void): void {
  for (;;) {
    let count = cur.readSmallLong();
    if (count === 0) return;
    if (count < 0) {
      count = -count;
      cur.readLong(); // block size in bytes, not needed when reading every item
    }
    for (let i = 0; i < count; i++) item();
  }
}

function compileFixed(size: number): AvroCodec {
  return {
    write(buf, value, path = "") {
      if (!(value instanceof Uint8Array) || value.length !== size) fail(path, `fixed(${size}) bytes`, value);
      buf.writeRaw(value);
    },
    read: (cur) => cur.readRaw(size).slice(),
    accepts: (v) => v instanceof Uint8Array && v.length === size,
  };
}

function compileEnum(symbols: string[]): AvroCodec {
  return {
    write(buf, value, path = "") {
      const i = typeof value === "string" ? symbols.indexOf(value) : -1;
      if (i < 0) fail(path, `one of ${symbols.join("|")}`, value);
      buf.writeInt(i);
    },
    read(cur) {
      const s = symbols[cur.readInt()];
      if (s === undefined) throw new RangeError("avro: enum index out of range");
      return s;
    },
    accepts: (v) => typeof v === "string" && symbols.includes(v),
  };
}
