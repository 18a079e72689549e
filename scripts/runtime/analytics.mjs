// Workers Analytics Engine, locally. miniflare binds datasets but drops every
// writeDataPoint; here each point is kept (one JSON line per point in
// <state>/analytics/<dataset>.jsonl, as Analytics Engine's columns: timestamp, index1,
// blob1..20, double1..20, _sample_interval, nothing sampled) and the SQL API's request
// is answered on a loopback door of the gateway's port, by chDB (embedded ClickHouse,
// npm `chdb`), so the query text that runs against Cloudflare runs here unchanged:
//
//   POST /cdn-cgi/local/client/v4/accounts/<any id>/analytics_engine/sql
//   Authorization: Bearer <any token>          body: the SQL text
//   -> 200 ClickHouse JSON: {"meta": [...], "data": [...], "rows": n, ...}
//
// Only reads are answered (SELECT, WITH, SHOW, DESCRIBE), as the SQL API answers only them.
import fs from "node:fs";
import path from "node:path";

/** The door's prefix: the SQL API's own path (`/client/v4/accounts/...`) follows it. */
export const SQL_DOOR = "/cdn-cgi/local/client/v4";
const SQL_PATH = /^\/cdn-cgi\/local\/client\/v4\/accounts\/[^/]+\/analytics_engine\/sql$/;
const MAX_BLOBS = 20;
const MAX_DOUBLES = 20;
const READ_ONLY = /^\s*(SELECT|WITH|SHOW|DESCRIBE|DESC)\b/i;
const HAS_FORMAT = /\bFORMAT\s+\w+\s*;?\s*$/i;
const DATASET_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const COLUMNS = [
  "timestamp DateTime(\\'UTC\\')",
  "dataset String",
  "index1 String",
  "_sample_interval UInt32",
  ...Array.from({ length: MAX_BLOBS }, (_, i) => `blob${i + 1} String`),
  ...Array.from({ length: MAX_DOUBLES }, (_, i) => `double${i + 1} Float64`),
].join(", ");

const utc = (date) => date.toISOString().slice(0, 19).replace("T", " ");

function text(status, body) {
  return new Response(body, { status, headers: { "content-type": "text/plain; charset=utf-8" } });
}

/** How long written points may wait in memory before they go to disk (every query writes them first). */
const FLUSH_AFTER_MS = 500;

/** One point as a row of the dataset's table (Analytics Engine's columns), unsampled. */
function row(dataset, at, point) {
  const blobs = Array.from(point?.blobs ?? []).slice(0, MAX_BLOBS);
  const doubles = Array.from(point?.doubles ?? []).slice(0, MAX_DOUBLES);
  const columns = { timestamp: utc(new Date(at)), dataset, index1: String(point?.indexes?.[0] ?? ""), _sample_interval: 1 };
  blobs.forEach((value, i) => (columns[`blob${i + 1}`] = value == null ? "" : String(value)));
  doubles.forEach((value, i) => (columns[`double${i + 1}`] = Number(value) || 0));
  return JSON.stringify(columns);
}

export class AnalyticsStore {
  /** @param {string} dir where the datasets' files and chDB's session live */
  constructor(dir) {
    this.dir = dir;
    fs.mkdirSync(dir, { recursive: true });
    this.session = null;
    this.views = new Set();
    this.pending = []; // [dataset, epoch ms, point]: written, not yet on disk
    this.timer = null;
  }

  file(dataset) {
    return path.join(this.dir, `${dataset}.jsonl`);
  }

  /**
   * One `writeDataPoint({indexes, blobs, doubles})`. workerd ships points after the
   * invocation, so the worker's call only keeps the point: turning it into a row and the
   * file append happen on a timer (and before every query and at stop), not inside the
   * request that wrote it, whose CPU the runtime's meter and the benchmark count.
   */
  write(dataset, point) {
    this.pending.push([dataset, Date.now(), point]);
    this.timer ??= setTimeout(() => this.flush(), FLUSH_AFTER_MS).unref();
  }

  /** Everything written so far, on disk (before every query). */
  flush() {
    clearTimeout(this.timer);
    this.timer = null;
    const lines = new Map();
    for (const [dataset, at, point] of this.pending) {
      if (!lines.has(dataset)) lines.set(dataset, []);
      lines.get(dataset).push(row(dataset, at, point));
    }
    this.pending = [];
    for (const [dataset, rows] of lines) fs.appendFileSync(this.file(dataset), `${rows.join("\n")}\n`);
  }

  /** The binding a worker sees for `[[analytics_engine_datasets]]`: workerd's class name, one method. */
  binding(dataset, facade) {
    if (!DATASET_NAME.test(dataset)) throw new Error(`dataset name ${JSON.stringify(dataset)} is not a SQL table name`);
    if (!fs.existsSync(this.file(dataset))) fs.writeFileSync(this.file(dataset), "");
    return facade("AnalyticsEngineDataset", { writeDataPoint: (point) => this.write(dataset, point) });
  }

  /** chDB, loaded on the first query (its library is large; start-up does not pay for it). */
  async #session() {
    if (!this.session) {
      const { Session } = await import("chdb");
      this.session = new Session(path.join(this.dir, "chdb"));
    }
    for (const file of fs.readdirSync(this.dir).filter((f) => f.endsWith(".jsonl"))) {
      const dataset = path.basename(file, ".jsonl");
      if (this.views.has(dataset) || !DATASET_NAME.test(dataset)) continue;
      const source = this.file(dataset).replaceAll("\\", "\\\\").replaceAll("'", "\\'");
      this.session.query(`CREATE OR REPLACE VIEW ${dataset} AS SELECT * FROM file('${source}', 'JSONEachRow', '${COLUMNS}')`);
      this.views.add(dataset);
    }
    return this.session;
  }

  /** The SQL API's answer to `request` (a POST to the door), or null when the path is not the door's. */
  async answer(request, url) {
    if (!SQL_PATH.test(url.pathname)) return null;
    if (request.method !== "POST") return text(405, "the SQL API takes POST");
    if (!/^Bearer \S+/.test(request.headers.get("authorization") ?? "")) return text(401, "Authentication error: a bearer token is required");
    const sql = (await request.text()).trim();
    if (!READ_ONLY.test(sql)) return text(400, "only SELECT (and SHOW, DESCRIBE) queries are accepted");
    try {
      this.flush();
      const session = await this.#session();
      const output = session.query(HAS_FORMAT.test(sql) ? sql : `${sql.replace(/;\s*$/, "")} FORMAT JSON`);
      return new Response(output, { status: 200, headers: { "content-type": "application/json" } });
    } catch (error) {
      return text(400, String(error?.message ?? error).replace(/^Query failed: /, ""));
    }
  }
}
