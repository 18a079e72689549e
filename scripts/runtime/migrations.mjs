// Applies each D1 database's migrations at start, in wrangler's format and with
// wrangler's bookkeeping table, so `wrangler d1 migrations list --local` agrees.
import fs from "node:fs";
import path from "node:path";
import { unstable_splitSqlQuery } from "wrangler";

const TABLE = "d1_migrations";

/** `bindings`: the worker's env as Python sees it (bindings.mjs `pythonEnv`), whose D1 facades run in its shim. */
export async function applyMigrations(spec, bindings, log) {
  for (const { binding, migrationsDir } of spec.migrations) {
    const db = bindings[binding];
    await db.prepare(
      `CREATE TABLE IF NOT EXISTS ${TABLE} (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL)`,
    ).run();
    const applied = new Set((await db.prepare(`SELECT name FROM ${TABLE}`).all()).results.map((r) => r.name));
    const files = fs.existsSync(migrationsDir) ? fs.readdirSync(migrationsDir).filter((f) => f.endsWith(".sql")).sort() : [];
    for (const file of files.filter((f) => !applied.has(f))) {
      const sql = fs.readFileSync(path.join(migrationsDir, file), "utf8");
      const statements = unstable_splitSqlQuery(sql).map((s) => db.prepare(s));
      await db.batch([...statements, db.prepare(`INSERT INTO ${TABLE} (name) VALUES (?)`).bind(file)]);
      log(JSON.stringify({ level: "info", worker: spec.name, message: "applied D1 migration", binding, migration: file }));
    }
  }
}
