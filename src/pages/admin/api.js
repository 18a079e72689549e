// The gateway's API, called from the page's own origin. The session's tokens live in this
// module's memory only: no cookie, no URL, no web storage, so closing or reloading the tab
// ends them. An expired access token is renewed once with the refresh token.

let session = null; // { access, refresh } while signed in
let onSignedOut = () => {};

/** A refusal from the API: its HTTP status, the problem's detail, and the body. */
export class ApiError extends Error {
  constructor(status, detail, body = null) {
    super(detail);
    this.status = status;
    this.body = body;
  }
}

/** `handler()` runs when the session ends on its own (its refresh token refused). */
export function whenSignedOut(handler) {
  onSignedOut = handler;
}

async function send(method, path, body, token) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  const init = { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store", credentials: "omit" };
  return fetch(path, init).catch(() => {
    throw new ApiError(0, "Could not reach the gateway"); // no answer at all: offline, or the connection failed
  });
}

/** The JSON body, or an ApiError: the problem's detail, or the status text when the body is
 * not JSON (a proxy's error page). */
async function answer(response) {
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    if (response.ok) throw new ApiError(response.status, "The answer is not JSON");
  }
  if (!response.ok) throw new ApiError(response.status, data?.detail || response.statusText || "Failed", data);
  return data;
}

function keep(tokens) {
  session = { access: tokens.access_token, refresh: tokens.refresh_token };
}

export async function signIn(email, password) {
  keep(await answer(await send("POST", "/api/auth/login", { email, password })));
}

/** Ends the session here and on the server (best effort: the page forgets it either way). */
export async function signOut() {
  const ending = session;
  session = null;
  if (ending) await send("POST", "/api/auth/logout", { refresh_token: ending.refresh }, ending.access).catch(() => {});
}

let renewing = null;

/** One renewal at a time: a refresh token presented twice ends the whole session (reuse). */
function renew() {
  renewing ??= (async () => {
    const response = await send("POST", "/api/auth/refresh", { refresh_token: session.refresh });
    if (!response.ok) {
      session = null;
      onSignedOut();
      throw new ApiError(401, "The session has ended; sign in again");
    }
    keep(await response.json());
  })().finally(() => {
    renewing = null;
  });
  return renewing;
}

/** `method path` with the session's token; the JSON answer, or an ApiError. */
export async function call(method, path, body) {
  if (!session) throw new ApiError(401, "Not signed in");
  const token = session.access;
  let response = await send(method, path, body, token);
  if (response.status === 401 && session) {
    if (session.access === token) await renew(); // else another call has renewed it already
    response = await send(method, path, body, session.access);
  }
  return answer(response);
}
