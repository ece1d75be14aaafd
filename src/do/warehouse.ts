/**
 * Which warehouse a DoLake object serves. The Worker names the object after the warehouse and
 * tells it the name in a header on every request; the object keeps it in SQLite, so alarms (which
 * have no request) know it too.
 */

/** Header the Worker sets (overwriting anything a client sent). */
export const WAREHOUSE_HEADER = "X-DoLake-Warehouse";

/** The warehouse of an object: learned from the Worker's header, remembered in SQLite. */
export class WarehouseName {
  private name: string | undefined;

  constructor(
    private readonly sql: SqlStorage,
    private readonly fallback: string,
  ) {
    sql.exec("CREATE TABLE IF NOT EXISTS dolake_warehouse (id INTEGER PRIMARY KEY CHECK (id = 1), name TEXT NOT NULL)");
    this.name = sql.exec<{ name: string }>("SELECT name FROM dolake_warehouse").toArray()[0]?.name;
  }

  /** Records the name the Worker routed this request by (the first one sticks: the object is named after it). */
  learn(request: Request): void {
    const name = request.headers.get(WAREHOUSE_HEADER);
    if (!name || this.name === name) return;
    if (this.name === undefined) {
      this.sql.exec("INSERT INTO dolake_warehouse (id, name) VALUES (1, ?)", name);
      this.name = name;
    }
  }

  /** The warehouse name (the deployment's WAREHOUSE until a request has named it). */
  get(): string {
    return this.name ?? this.fallback;
  }
}
