// Python CPU per request, cold start and heap, inside Pyodide (the local runtime's release),
// for our workers (with telemetry, and with TELEMETRY=off), the same routes in FastAPI, and
// the floor (a constant Response); the billable units each route spends; and how many D1
// rows five order routes read with 100 and with 10,000 orders in the table.
//
//   .venv/bin/node benchmarks/pyodide_bench.mjs [--requests N] [--warmup N] [--memory-requests N] [--out FILE]
//
// --requests: measured requests per route and framework (default 2000); --warmup: unmeasured
// ones before them (default 200, at most --requests); --memory-requests: requests each worker
// serves before its last heap sample (default 5 x --requests, so 10,000), with one at half
// way. Requests run strictly one at a time, the frameworks interleaved request by request
// (the order rotating, so none always goes first), so machine noise falls on all of them
// alike. The ratios and telemetry's overhead are taken per round of ROUND_REQUESTS
// requests (each round's p50s against each other) and reported as the median over the
// rounds, so a busy spell on a shared machine moves a few rounds, not the figure.
// scripts/bench runs it.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { measure, startBench } from "./bench_system.mjs";
import { ROUTES, SCALING_ROUTES, check, seed } from "./routes.mjs";

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const FRAMEWORKS = ["ours", "bare", "fastapi", "floor"];
/** Orders in the table for the scaling measurement, and requests per route at each size. */
const SCALING_SIZES = [100, 10_000];
const SCALING_REQUESTS = 20;
/** Measured requests per framework in one round; each round gives one ratio and one overhead per worker. */
const ROUND_REQUESTS = 50;
/** The floor answers every route with the same 200. */
const FLOOR_ROUTE = { status: 200 };
/**
 * Settings for the benchmark: a signing secret, a profile TTL longer than any run (hits must
 * stay hits) and an access-token life longer than any run (a full run outlasts the default
 * 15 minutes, and its seeded token must not expire under the last routes).
 */
const VARS = { JWT_SECRET: "pyodide-bench-secret-0123456789abcdef", PROFILE_CACHE_TTL_SECONDS: "86400", JWT_TTL_SECONDS: "86400" };
/** What drives every worker to --memory-requests: every route but login (its PBKDF2 is WebCrypto's, not the heap's). */
const MEMORY_MIX = ["health", "user_miss", "user_hit", "order_create", "orders_list"];
const METHOD =
  "Per request, the wall time of each worker's fetch minus the time its awaited binding calls " +
  "(KV, D1, queues, rate limiter, service bindings, WebCrypto) took, from their dispatch to their " +
  "settling; a service binding's target is metered as its own worker, in-process, one request at a " +
  "time. Ours, ours with TELEMETRY=off, FastAPI and the floor run interleaved request by request in a " +
  `rotating order; ratios and telemetry's overhead are medians over rounds of ${ROUND_REQUESTS} requests ` +
  "of each round's p50s (p99 ratios: of the pooled p99s).";

function options() {
  const { values } = parseArgs({
    options: {
      requests: { type: "string", default: "2000" },
      warmup: { type: "string" },
      "memory-requests": { type: "string" },
      out: { type: "string" },
    },
  });
  const count = (name, value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} takes a whole number, got ${value}`);
    return n;
  };
  const requests = Math.max(1, count("requests", values.requests));
  return {
    requests,
    warmup: values.warmup === undefined ? Math.min(200, requests) : count("warmup", values.warmup),
    memoryRequests: Math.max(2, values["memory-requests"] === undefined ? 5 * requests : count("memory-requests", values["memory-requests"])),
    out: values.out,
  };
}

const round = (value) => Math.round(value * 1000) / 1000;

/** p50 and p99 (nearest rank) of `values`. */
function percentiles(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => round(sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]);
  return { p50_ms: at(0.5), p99_ms: at(0.99) };
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

/** The p50 of `values` within each round (`rounds[i]` is the round of `values[i]`), round by round. */
function roundP50s(values, rounds) {
  const byRound = [];
  values.forEach((value, i) => (byRound[rounds[i]] ??= []).push(value));
  return byRound.map((inRound) => percentiles(inRound).p50_ms);
}

/** a/b of two series of samples: p50 as the median over rounds of the rounds' p50 ratios; p99 of the pooled p99s. */
function ratio(a, b, rounds) {
  const bP50s = roundP50s(b, rounds);
  const perRound = roundP50s(a, rounds).map((p50, r) => p50 / bP50s[r]);
  return { p50: round(median(perRound)), p99: round(percentiles(a).p99_ms / percentiles(b).p99_ms) };
}

/** One request of `route` to `group`'s front worker, checked; its CPU split into front and services. */
async function once(bench, seeded, key, group, { strict }) {
  const route = ROUTES[key];
  await route.before?.(seeded);
  const front = bench.groups[group].get(group === "floor" ? "floor" : "gateway");
  const { response, usage, units, webcryptoMs } = await measure(bench.run, front, route.request(seeded));
  await check(key, group === "floor" ? FLOOR_ROUTE : route, response, { strict });
  const own = usage[front.role];
  const total = Object.values(usage).reduce((a, b) => a + b, 0);
  return { gateway: own, service: total - own, total, webcryptoMs, usage, units };
}

/** Adds one request's `{role: {unit: n}}` to `sums`. */
function addUnits(sums, units) {
  for (const [role, counts] of Object.entries(units)) {
    const mine = (sums[role] ??= {});
    for (const [unit, n] of Object.entries(counts)) mine[unit] = (mine[unit] ?? 0) + n;
  }
}

const meanUnits = (sums, n) =>
  Object.fromEntries(Object.entries(sums).map(([role, counts]) => [role, Object.fromEntries(Object.entries(counts).map(([u, v]) => [u, round(v / n)]))]));

/** Every route, warm-up then measured, the frameworks interleaved request by request. */
async function latency(bench, seeded, { requests, warmup }) {
  const routes = {};
  const pbkdf2 = [];
  for (const key of Object.keys(ROUTES)) {
    process.stderr.write(`bench: ${key}\n`);
    for (let i = 0; i < warmup; i++) for (const group of FRAMEWORKS) await once(bench, seeded, key, group, { strict: false });
    const samples = Object.fromEntries(FRAMEWORKS.map((g) => [g, { gateway: [], service: [], total: [], roles: {}, units: {} }]));
    const rounds = [];
    const lastRound = Math.max(0, Math.floor(requests / ROUND_REQUESTS) - 1); // a short tail joins the last round
    for (let i = 0; i < requests; i++) {
      rounds.push(Math.min(lastRound, Math.floor(i / ROUND_REQUESTS)));
      const first = i % FRAMEWORKS.length;
      for (const group of [...FRAMEWORKS.slice(first), ...FRAMEWORKS.slice(0, first)]) {
        const cpu = await once(bench, seeded, key, group, { strict: true });
        for (const part of ["gateway", "service", "total"]) samples[group][part].push(cpu[part]);
        for (const [role, ms] of Object.entries(cpu.usage)) (samples[group].roles[role] ??= []).push(ms);
        addUnits(samples[group].units, cpu.units);
        if (key === "login" && group !== "floor") pbkdf2.push(cpu.webcryptoMs);
      }
    }
    routes[key] = summarise(ROUTES[key].label, samples, requests, rounds);
  }
  return { routes, pbkdf2: percentiles(pbkdf2) };
}

/** One framework's figures: percentiles per part and per worker, mean units; `samples` keeps the raw values for the rounds. */
function split(s, requests) {
  return {
    gateway: percentiles(s.gateway),
    service: percentiles(s.service),
    total: percentiles(s.total),
    workers: Object.fromEntries(Object.entries(s.roles).map(([role, values]) => [role, percentiles(values)])),
    units: meanUnits(s.units, requests),
  };
}

function summarise(label, samples, requests, rounds) {
  const [ours, bare, fastapi] = [samples.ours, samples.bare, samples.fastapi].map((s) => split(s, requests));
  const floor = percentiles(samples.floor.total);
  // Telemetry's cost per worker: per round, p50 with it minus p50 without it (TELEMETRY=off); the median over rounds.
  const overhead = (role) => {
    const off = roundP50s(samples.bare.roles[role] ?? [], rounds);
    return round(median(roundP50s(samples.ours.roles[role], rounds).map((p50, r) => p50 - (off[r] ?? 0))));
  };
  const total = (group) => samples[group].total;
  return {
    label,
    ours,
    telemetry_off: bare,
    fastapi,
    floor,
    rounds: rounds[rounds.length - 1] + 1,
    telemetry_overhead_p50_ms: Object.fromEntries(Object.keys(ours.workers).map((role) => [role, overhead(role)])),
    ratio_to_fastapi: ratio(total("ours"), total("fastapi"), rounds),
    ratio_off_to_fastapi: ratio(total("bare"), total("fastapi"), rounds),
    ratio_to_floor: ratio(total("ours"), total("floor"), rounds),
  };
}

/** How many orders the orders database holds. */
async function countOrders(orders) {
  const answer = await orders.call("DB", "all", [], { sql: "SELECT count(*) AS n FROM orders", params: [] });
  return Number(answer.results[0].n);
}

/** Adds `n` confirmed orders of `userId`, older than any the benchmark makes, in one statement. */
async function insertOrders(orders, userId, n) {
  const sql = `INSERT INTO orders (id, user_id, status, items, total_cents, currency, request_id, event_id,
      published_at, notified_at, created_at, updated_at)
    WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?1)
    SELECT printf('ord_scale_%d_%06d', ?2, i), ?3, 'confirmed', '[{"sku":"SCALE-1","quantity":1,"unit_price_cents":100}]',
      100, 'EUR', NULL, printf('evt_scale_%d_%06d', ?2, i), '2026-01-01T00:00:00.000Z', NULL,
      strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', printf('-%d seconds', i)), '2026-01-01T00:00:00.000Z'
    FROM k`;
  await orders.call("DB", "run", [], { sql, params: [n, Date.now(), userId] });
}

/** D1 rows read and written per request of each scaling route (mean of SCALING_REQUESTS), at each table size. */
async function scaling(bench, seeded) {
  const gateway = bench.groups.ours.get("gateway");
  const orders = bench.channels.get(bench.specs.find((s) => s.alias === "orders").name);
  const send = async (request) => (await measure(bench.run, gateway, request)).response;
  const result = {};
  for (const size of SCALING_SIZES) {
    const have = await countOrders(orders);
    if (have < size) await insertOrders(orders, seeded.userId, size - have);
    process.stderr.write(`bench: scaling with ${await countOrders(orders)} orders\n`);
    result[size] = {};
    for (const [key, route] of Object.entries(SCALING_ROUTES)) {
      const sums = {};
      for (let i = 0; i < SCALING_REQUESTS; i++) {
        const prepared = await route.before?.(seeded, send);
        const { response, units } = await measure(bench.run, gateway, route.request(seeded, prepared));
        await check(key, route, response);
        addUnits(sums, { all: Object.values(units).reduce((all, counts) => ({ ...all, ...Object.fromEntries(Object.entries(counts).map(([u, v]) => [u, (all[u] ?? 0) + v])) }), {}) });
      }
      result[size][key] = { label: route.label, ...meanUnits(sums, SCALING_REQUESTS).all };
    }
  }
  return result;
}

/** Drives each group with the mix until every one of its workers has served `memoryRequests`. */
async function driveMemory(bench, seeded, memoryRequests) {
  for (const group of FRAMEWORKS) {
    const members = [...bench.groups[group].values()];
    process.stderr.write(`bench: memory (${group})\n`);
    while (members.some((m) => m.served < memoryRequests)) {
      for (const key of MEMORY_MIX) await once(bench, seeded, key, group, { strict: true });
    }
  }
}

function memoryOf(member, half, full) {
  const mb = (name) => round(member.samples[name].heap_mb);
  return {
    after_start_mb: mb("after_start"),
    after_5000_mb: mb(`after_${half}`),
    after_10000_mb: mb(`after_${full}`),
    growth_last_5000_mb: round(mb(`after_${full}`) - mb(`after_${half}`)),
    blocks_after_start: member.samples.after_start.objects,
    blocks_after_5000: member.samples[`after_${half}`].objects,
    blocks_after_10000: member.samples[`after_${full}`].objects,
  };
}

function coldStartOf(member) {
  const { total_ms, imports_ms, heap_after_start_mb, interpreter_ms } = member.cold;
  const rounded = Object.fromEntries(Object.entries(imports_ms).map(([k, v]) => [k, round(v)]));
  return { total_ms: round(total_ms), imports_ms: rounded, heap_after_start_mb: round(heap_after_start_mb), interpreter_ms: round(interpreter_ms) };
}

async function main() {
  const opts = options();
  const loadAtStart = os.loadavg()[0];
  const bench = await startBench({ root: ROOT, vars: VARS, log: (line) => process.stderr.write(`${line}\n`) });
  try {
    const members = FRAMEWORKS.flatMap((group) => [...bench.groups[group].values()]);
    const half = Math.floor(opts.memoryRequests / 2);
    bench.run.milestones = [half, opts.memoryRequests];
    for (const member of members) member.sample("after_start");
    const users = bench.channels.get(bench.specs.find((s) => s.alias === "users").name);
    const gateway = bench.groups.ours.get("gateway");
    const seeded = await seed(async (request) => (await measure(bench.run, gateway, request)).response, users);
    const scaled = await scaling(bench, seeded);
    const { routes, pbkdf2 } = await latency(bench, seeded, opts);
    await driveMemory(bench, seeded, opts.memoryRequests);
    const results = {
      meta: {
        pyodide: bench.specs[0].release.pyodide,
        python: bench.runtime.python,
        node: process.version,
        cpu_model: os.cpus()[0]?.model ?? "unknown",
        cpus: os.cpus().length,
        load_average_1m: { start: round(loadAtStart), end: round(os.loadavg()[0]) },
        requests_per_route: opts.requests,
        warmup_per_route: opts.warmup,
        requests_per_round: ROUND_REQUESTS,
        memory_requests: { half, full: opts.memoryRequests },
        method: METHOD,
        blocks: "gc-tracked Python objects after gc.collect() (sys.getallocatedblocks() is 0 in Pyodide 314)",
      },
      routes,
      scaling_d1_rows_per_request: scaled,
      webcrypto_pbkdf2_ms: pbkdf2,
      cold_start: Object.fromEntries(members.map((m) => [m.label, coldStartOf(m)])),
      memory: Object.fromEntries(members.map((m) => [m.label, memoryOf(m, half, opts.memoryRequests)])),
    };
    const text = `${JSON.stringify(results, null, 2)}\n`;
    if (opts.out) fs.writeFileSync(opts.out, text);
    else process.stdout.write(text);
  } finally {
    await bench.stop();
  }
}

await main();
