/**
 * SQL text to a checked statement: `?` placeholders become `$1..$n` (outside strings and quoted
 * names), pgsql-ast-parser (PostgreSQL dialect) parses, and anything but one SELECT / WITH is a
 * 400 naming the construct and its position.
 */
import { parse, type Statement } from "pgsql-ast-parser";
import { HttpError } from "../http/errors.js";

/** A parsed query: the statement and how many parameters it uses. */
export interface ParsedQuery {
  statement: Statement;
  sql: string;
}

/** A 400 for SQL that cannot run, with the construct and its 1-based line:column. */
export function sqlError(sql: string, message: string, offset?: number): HttpError {
  if (offset === undefined) return new HttpError(400, "BadRequestException", message);
  const before = sql.slice(0, offset).split("\n");
  return new HttpError(400, "BadRequestException", `${message} at line ${before.length}, column ${before[before.length - 1]!.length + 1}`);
}

/** Rewrites `?` placeholders to `$1..$n`, leaving strings, quoted names and comments alone. */
export function numberPlaceholders(sql: string): string {
  let out = "";
  let n = 0;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i]!;
    if (c === "'" || c === '"') {
      const end = closing(sql, i, c);
      out += sql.slice(i, end + 1);
      i = end;
    } else if (c === "-" && sql[i + 1] === "-") {
      const end = sql.indexOf("\n", i);
      const stop = end < 0 ? sql.length : end;
      out += sql.slice(i, stop);
      i = stop - 1;
    } else if (c === "?") {
      out += `$${++n}`;
    } else out += c;
  }
  return out;
}

function closing(sql: string, start: number, quote: string): number {
  for (let i = start + 1; i < sql.length; i++) {
    if (sql[i] === quote) {
      if (sql[i + 1] === quote) i++;
      else return i;
    }
  }
  return sql.length - 1;
}

/** Parses one SELECT (or WITH ... SELECT) statement. */
export function parseQuery(text: string): ParsedQuery {
  if (typeof text !== "string" || text.trim() === "") throw sqlError("", "sql must be a non-empty string");
  const sql = numberPlaceholders(text);
  let statements: Statement[];
  try {
    statements = parse(sql, { locationTracking: true });
  } catch (e) {
    const msg = (e as Error).message;
    const at = /line (\d+) col (\d+)/.exec(msg);
    const first = msg.split("\n").find((l) => l.startsWith("Unexpected")) ?? msg.split("\n")[0] ?? "syntax error";
    throw new HttpError(400, "BadRequestException", `Invalid SQL: ${first.replace(/\. Instead.*$/, "")}${at ? ` at line ${at[1]}, column ${at[2]}` : ""}`);
  }
  if (statements.length !== 1) throw sqlError(sql, `Expected one statement, got ${statements.length}`);
  const statement = statements[0]!;
  if (statement.type !== "select" && statement.type !== "with" && statement.type !== "union" && statement.type !== "union all") {
    throw sqlError(sql, `Only SELECT queries are supported, not ${statement.type.toUpperCase()}`, statement._location?.start);
  }
  return { statement, sql };
}
