// Seeded SQL generator for the query differential tests: the same grammar runs over in-memory
// tables (test/unit/query/differential.test.ts) and over live Iceberg tables through POST
// /v1/query (test/e2e/query-duckdb.test.ts), each compared with DuckDB.
//
// Table shapes it queries: t1 (id bigint, g varchar, x bigint, y double, s varchar, ts timestamptz,
// d date, b boolean) and t2 (id bigint, t1_id bigint, v bigint, label varchar), NULLs in all but ids.
// Every query fixes its order on all output columns, so results compare row for row.

export interface QueryGenOptions {
  /** Uniform [0, 1) source (test/support/rng.ts). */
  random: () => number;
  /** Table names (default t1, t2). */
  t1?: string;
  t2?: string;
  /** SQL for "now" (default NOW(); a literal makes the query replayable later, in another engine). */
  now?: string;
  /** Extra text expressions to project (e.g. a column added by schema evolution). */
  extraText?: string[];
}

export interface QueryGen {
  projection(): string;
  aggregate(): string;
  join(): string;
  nested(): string;
  /** Kinds in rotation: the i-th query of a run. */
  next(i: number): string;
}

/** A generator over t1/t2-shaped tables. */
export function queryGenerator(o: QueryGenOptions): QueryGen {
  const random = o.random;
  const t1 = o.t1 ?? "t1";
  const t2 = o.t2 ?? "t2";
  const now = o.now ?? "NOW()";
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));

  const NUM = ["x", "y", "id", "x + 1", "x * 2", "y * 1.5", "abs(x)", "coalesce(x, 0)", "x - id", "CAST(x AS DOUBLE)", "length(s)", "extract(hour from ts)", "extract(day from d)"];
  const TEXT = ["g", "s", "upper(s)", "lower(g)", "s || 'z'", "coalesce(g, 'none')", "CASE WHEN x > 40 THEN 'hi' WHEN x IS NULL THEN 'nil' ELSE 'lo' END", "CAST(x AS VARCHAR)", "substring(s, 2, 3)", "replace(s, 'a', 'A')", ...(o.extraText ?? [])];
  const TIME = ["ts", "d", "date_trunc('day', ts)", "date_trunc('hour', ts)", "ts + INTERVAL '1 day'", "ts - INTERVAL '90 minutes'", "date_trunc('month', d)"];

  function predicate(depth = 0): string {
    const r = random();
    if (depth < 2 && r < 0.25) return `(${predicate(depth + 1)} ${pick(["AND", "OR"])} ${predicate(depth + 1)})`;
    if (depth < 2 && r < 0.3) return `NOT (${predicate(depth + 1)})`;
    return pick([
      () => `${pick(NUM)} ${pick(["=", "<>", "<", "<=", ">", ">="])} ${int(-10, 60)}`,
      () => `g ${pick(["=", "<>"])} '${pick(["a", "b", "c"])}'`,
      () => `g ${pick(["IN", "NOT IN"])} ('${pick(["a", "b"])}', '${pick(["c", "d"])}')`,
      () => `x ${pick(["BETWEEN", "NOT BETWEEN"])} ${int(-10, 30)} AND ${int(30, 90)}`,
      () => `s ${pick(["LIKE", "NOT LIKE", "ILIKE", "NOT ILIKE"])} '${pick(["a%", "%a%", "_a%", "%e", "B%", "%an%"])}'`,
      () => `${pick(["g", "x", "y", "s", "ts", "d", "b"])} IS ${pick(["", "NOT "])}NULL`,
      () => `ts >= ${now} - INTERVAL '${int(1, 80)} hours'`,
      () => `d ${pick(["=", "<", ">="])} DATE '2025-01-${String(int(12, 22)).padStart(2, "0")}'`,
      () => `${pick(["b", "NOT b", "b IS TRUE"])}`,
      () => `x IN (SELECT v FROM ${t2} WHERE label = '${pick(["x", "y"])}')`,
    ])();
  }

  function projection(): string {
    const cols = Array.from({ length: int(1, 3) }, () => pick([...NUM, ...TEXT, ...TIME]));
    const order = cols.map((_, i) => `${i + 1} ${pick(["ASC", "DESC"])}${random() < 0.3 ? ` NULLS ${pick(["FIRST", "LAST"])}` : ""}`).join(", ");
    const distinct = random() < 0.15 ? "DISTINCT " : "";
    return `SELECT ${distinct}${cols.map((c, i) => `${c} AS c${i}`).join(", ")} FROM ${t1} WHERE ${predicate()} ORDER BY ${order}${random() < 0.5 ? ` LIMIT ${int(1, 30)}${random() < 0.3 ? ` OFFSET ${int(0, 10)}` : ""}` : ""}`;
  }

  function aggregate(): string {
    const key = pick(["g", "b", "date_trunc('day', ts)", "CASE WHEN x > 40 THEN 'hi' ELSE 'lo' END", "d", "extract(hour from ts)"]);
    const aggs = Array.from({ length: int(1, 3) }, () =>
      pick(["COUNT(*)", "COUNT(x)", "COUNT(DISTINCT g)", "SUM(x)", "MIN(y)", "MAX(s)", "MIN(ts)", "MAX(d)", "SUM(id)", "COUNT(DISTINCT x)", "MAX(x) - MIN(x)", "AVG(x)", "SUM(y)"]),
    );
    const having = random() < 0.3 ? ` HAVING COUNT(*) > ${int(0, 20)}` : "";
    if (random() >= 0.85) return `SELECT ${aggs.join(", ")} FROM ${t1} WHERE ${predicate()}`;
    return `SELECT ${key} AS k, ${aggs.join(", ")} FROM ${t1} WHERE ${predicate()} GROUP BY 1${having} ORDER BY 1 NULLS FIRST`;
  }

  function join(): string {
    const kind = pick(["JOIN", "LEFT JOIN"]);
    return `SELECT a.id, a.g, b.v, b.label FROM ${t1} a ${kind} ${t2} b ON a.id = b.t1_id${random() < 0.5 ? ` AND b.v > ${int(0, 40)}` : ""} WHERE a.${pick(["x > 30", "g = 'a'", "id < 60", "s LIKE '%e%'"])} ORDER BY 1, 3 NULLS FIRST, 4 NULLS FIRST, 2 NULLS FIRST`;
  }

  function nested(): string {
    return pick([
      () => `WITH f AS (SELECT g, x FROM ${t1} WHERE ${predicate()}) SELECT g, COUNT(*) AS n, SUM(x) AS s FROM f GROUP BY g ORDER BY g NULLS FIRST`,
      () => `SELECT q.k, q.n FROM (SELECT g AS k, COUNT(*) AS n FROM ${t1} GROUP BY g) q WHERE q.n > ${int(0, 80)} ORDER BY 1 NULLS FIRST`,
      () => `SELECT id FROM ${t1} WHERE id IN (SELECT t1_id FROM ${t2} WHERE v > ${int(0, 50)}) AND ${predicate()} ORDER BY id`,
      () => `SELECT COUNT(*) AS n FROM ${t1} WHERE x > (SELECT AVG(v) FROM ${t2})`,
    ])();
  }

  const kinds = [projection, aggregate, join, nested];
  return { projection, aggregate, join, nested, next: (i) => kinds[i % kinds.length]!() };
}
