// The routes the benchmark measures, as a client calls them through the gateway
// (/work/shared/API.md, tests/e2e), each with the status (and X-Cache) it must answer.
const ORIGIN = "http://127.0.0.1:8787";
const USER = { email: "bench@example.com", password: "bench-password-1", name: "Bench" };
const ORDER = { items: [{ sku: "BENCH-1", quantity: 2, unit_price_cents: 1250 }], currency: "EUR" };
const SEEDED_ORDERS = 20;

let requests = 0;

/**
 * A request from a client address of its own: the gateway rate-limits per
 * CF-Connecting-IP (100 a minute), and the benchmark sends thousands a minute.
 */
function request(method, pathname, { token, body, headers = {} } = {}) {
  const n = ++requests;
  const all = { "cf-connecting-ip": `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`, ...headers };
  if (token) all.authorization = `Bearer ${token}`;
  if (body !== undefined) all["content-type"] = "application/json";
  return new Request(ORIGIN + pathname, { method, headers: all, body: body === undefined ? undefined : JSON.stringify(body) });
}

/** The profile cache entry of users/service.py (`users:v1:<id>`). */
const cacheKey = (userId) => `users:v1:${userId}`;

/**
 * In the order they run: the misses leave the profile cached for the hits. Each route: `label`, `status` (every response must have it), `cache` (the X-Cache it
 * must carry), `items` (the page length it must list), `request(seed)` and `before(seed)`,
 * run outside the measurement before each request.
 */
export const ROUTES = {
  health: { label: "GET /health", status: 200, request: () => request("GET", "/health") },
  user_miss: {
    label: "GET /api/users/{id} (cache miss)",
    status: 200,
    cache: "MISS",
    before: (seed) => seed.users.call("PROFILE_CACHE", "delete", [cacheKey(seed.userId)]),
    request: (seed) => request("GET", `/api/users/${seed.userId}`, { token: seed.token }),
  },
  user_hit: {
    label: "GET /api/users/{id} (cache hit)",
    status: 200,
    cache: "HIT",
    request: (seed) => request("GET", `/api/users/${seed.userId}`, { token: seed.token }),
  },
  login: {
    label: "POST /api/auth/login",
    status: 200,
    request: () => request("POST", "/api/auth/login", { body: { email: USER.email, password: USER.password } }),
  },
  order_create: {
    label: "POST /api/orders",
    status: 201,
    request: (seed) => request("POST", "/api/orders", { token: seed.token, body: ORDER, headers: { "idempotency-key": `bench-${++requests}` } }),
  },
  orders_list: {
    label: "GET /api/orders (20 items)",
    status: 200,
    items: SEEDED_ORDERS,
    request: (seed) => request("GET", "/api/orders", { token: seed.token }),
  },
};

/** A fresh order of the benchmark's user, made (unmeasured) through `send`; its id. */
async function freshOrder(seed, send) {
  const created = await send(request("POST", "/api/orders", { token: seed.token, body: ORDER }));
  return (await created.json()).id;
}

/** The order routes whose D1 rows per request must not grow with the table (benchmarks/README.md). */
export const SCALING_ROUTES = {
  list: { label: "GET /api/orders", status: 200, items: 20, request: (seed) => request("GET", "/api/orders", { token: seed.token }) },
  get: {
    label: "GET /api/orders/{id}",
    status: 200,
    before: freshOrder,
    request: (seed, id) => request("GET", `/api/orders/${id}`, { token: seed.token }),
  },
  cancel: {
    label: "POST /api/orders/{id}/cancel",
    status: 200,
    before: freshOrder,
    request: (seed, id) => request("POST", `/api/orders/${id}/cancel`, { token: seed.token }),
  },
  create: { label: "POST /api/orders", status: 201, request: (seed) => ROUTES.order_create.request(seed) },
  replay: {
    label: "POST /api/orders (idempotent replay)",
    status: 201,
    before: async (seed, send) => {
      const key = `replay-${++requests}`;
      await send(request("POST", "/api/orders", { token: seed.token, body: ORDER, headers: { "idempotency-key": key } }));
      return key;
    },
    request: (seed, key) => request("POST", "/api/orders", { token: seed.token, body: ORDER, headers: { "idempotency-key": key } }),
  },
};

/** Throws unless `response` is what `route` must answer (checked outside the measurement). */
export async function check(key, route, response, { strict = true } = {}) {
  const text = await response.text();
  const fail = (what) => {
    throw new Error(`${key}: ${what}; answered ${response.status}: ${text.slice(0, 300)}`);
  };
  if (response.status !== route.status) fail(`expected status ${route.status}`);
  if (!strict) return;
  if (route.cache && response.headers.get("x-cache") !== route.cache) fail(`expected X-Cache ${route.cache}`);
  if (route.items !== undefined && JSON.parse(text).items.length !== route.items) fail(`expected ${route.items} items`);
}

/** Registers the benchmark's user, logs in and places SEEDED_ORDERS orders, through `send` (our gateway). */
export async function seed(send, users) {
  const registered = await send(request("POST", "/api/auth/register", { body: USER }));
  if (registered.status !== 201) throw new Error(`register answered ${registered.status}: ${await registered.text()}`);
  const userId = (await registered.json()).id;
  const login = await send(ROUTES.login.request());
  if (login.status !== 200) throw new Error(`login answered ${login.status}: ${await login.text()}`);
  const result = { userId, token: (await login.json()).access_token, users };
  for (let i = 0; i < SEEDED_ORDERS; i++) await check("seed order", ROUTES.order_create, await send(ROUTES.order_create.request(result)));
  return result;
}
