// The console's one way to the API: the signed-in user's token on every call, problem+json
// errors turned into an ApiError whose message is the API's own words, and the session kept
// in sessionStorage (closing the tab signs out).

const SESSION = "stockroom.session";
const PKCE = "stockroom.pkce";

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

export function session() {
  try {
    return JSON.parse(sessionStorage.getItem(SESSION));
  } catch {
    return null;
  }
}

export function signOut() {
  sessionStorage.removeItem(SESSION);
}

/** The claims of a JWT, unverified: only to show who is signed in (the API verifies). */
function claims(token) {
  const part = token.split(".")[1] || "";
  const json = atob(part.replace(/-/g, "+").replace(/_/g, "/"));
  return JSON.parse(json);
}

/** A token for `sub` from the dev server (`POST /dev/token`), which only `cargo dev` has;
 * null when this server mints none (the stack in AWS). Rejects with the API's problem. */
export async function devToken(sub, admin) {
  const response = await fetch("/dev/token", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ sub, admin }),
  });
  if (response.status === 404 || response.status === 405) return null;
  const body = await response.json();
  if (!response.ok) throw new ApiError(response.status, body);
  return body.token;
}

/** Signs in through the dev server. Resolves to false when it mints no tokens: then a token
 * must be pasted, or the stack's hosted sign-in used. */
export async function devSignIn(sub, admin) {
  const token = await devToken(sub, admin);
  if (token === null) return false;
  sessionStorage.setItem(SESSION, JSON.stringify({ token, sub, admin }));
  return true;
}

/** Signs in with an access token got elsewhere (Cognito: README, "Deploy"). */
export function tokenSignIn(token) {
  const c = claims(token.trim());
  const groups = c["cognito:groups"] || [];
  sessionStorage.setItem(
    SESSION,
    JSON.stringify({ token: token.trim(), sub: c.sub, admin: groups.includes("admin") }),
  );
}

/** How this server signs the console in (`/console.json`): Cognito's hosted sign-in when the
 * stack has it, else null. */
let config = null;
async function consoleConfig() {
  if (config) return config;
  try {
    const response = await fetch("/console.json");
    config = response.ok ? await response.json() : { sign_in: null };
  } catch {
    config = { sign_in: null };
  }
  return config;
}

function base64url(bytes) {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** This page's address as the app client has it registered (`<ConsoleUrl>/shop`). */
function redirectUri() {
  return location.origin + location.pathname.replace(/\/+$/, "");
}

/** Starts Cognito's hosted sign-in: authorization code with PKCE (RFC 7636), back to this page. */
async function hostedSignIn(signIn) {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  const redirect = redirectUri();
  sessionStorage.setItem(PKCE, JSON.stringify({ verifier, state, redirect, hash: location.hash }));
  const query = new URLSearchParams({
    response_type: "code",
    client_id: signIn.client_id,
    redirect_uri: redirect,
    scope: "openid",
    state,
    code_challenge: base64url(new Uint8Array(digest)),
    code_challenge_method: "S256",
  });
  location.assign(`${signIn.url}/oauth2/authorize?${query}`);
}

/** Completes a hosted sign-in this page started, if the address carries its answer: the code
 * is exchanged, with the verifier only this tab holds, for the access token. */
export async function finishHostedSignIn() {
  const params = new URLSearchParams(location.search);
  if (!params.has("code") && !params.has("error")) return;
  const pending = JSON.parse(sessionStorage.getItem(PKCE) || "null");
  sessionStorage.removeItem(PKCE);
  history.replaceState(null, "", location.pathname + ((pending && pending.hash) || ""));
  if (params.has("error")) {
    throw new ApiError(0, { title: "Sign-in failed", detail: params.get("error_description") || params.get("error") });
  }
  if (!pending || pending.state !== params.get("state")) {
    throw new ApiError(0, { title: "Sign-in failed", detail: "The answer does not match a sign-in this page started." });
  }
  const { sign_in: signIn } = await consoleConfig();
  const response = await fetch(`${signIn.url}/oauth2/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      client_id: signIn.client_id,
      code: params.get("code"),
      redirect_uri: pending.redirect,
      code_verifier: pending.verifier,
    }),
  });
  const body = await response.json();
  if (!response.ok) {
    throw new ApiError(response.status, { title: "Sign-in failed", detail: body.error_description || body.error });
  }
  tokenSignIn(body.access_token);
}

/** One API call; resolves to the parsed body (null for 204), rejects with an ApiError. */
export async function api(method, path, body, { idempotencyKey } = {}) {
  const headers = { accept: "application/json" };
  const s = session();
  if (s) headers.authorization = `Bearer ${s.token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  if (idempotencyKey) headers["idempotency-key"] = idempotencyKey;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(0, { title: "No answer", detail: `The API could not be reached (${err.message}).` });
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = { detail: text };
  }
  if (!response.ok) {
    throw new ApiError(response.status, parsed || { title: `HTTP ${response.status}` });
  }
  return parsed;
}

/** Money in minor units as the currency writes it: 1250 USD is $12.50. */
export function money(minor, currency) {
  if (minor === null || minor === undefined) return "";
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency: currency || "USD" }).format(minor / 100);
  } catch {
    return `${(minor / 100).toFixed(2)} ${currency || ""}`;
  }
}

/** Text made safe to put in HTML. */
export function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

/** Shows `message` in the page's status line (announced to screen readers). */
export function say(message) {
  const status = document.getElementById("status");
  status.className = "status";
  status.textContent = message;
}

/** Shows an error as the API worded it: its title, its detail and each field's complaint. */
export function showError(err) {
  const status = document.getElementById("status");
  status.className = "status error";
  const problem = err.problem || {};
  const fields = (problem.errors || []).map((e) => `${e.field}: ${e.message}`).join("; ");
  status.textContent = [problem.title || "Error", err.message, fields].filter(Boolean).join(" — ");
}

/** A fresh Idempotency-Key. */
export function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Renders the sign-in form into `root`: a customer id (and, on the admin page, the admin
 * group) for the dev server, or a pasted token elsewhere. Calls `done` when signed in. */
export function renderSignIn(root, { admin, defaultSub, done }) {
  root.innerHTML = `
    <section aria-labelledby="signin-title" class="card">
      <h2 id="signin-title">Sign in</h2>
      <form id="dev-signin">
        <label for="sub">${admin ? "Administrator id" : "Customer id"}</label>
        <input id="sub" name="sub" value="${esc(defaultSub)}" autocomplete="username" required pattern="[A-Za-z0-9_\\-]{1,64}">
        <button type="submit">Sign in${admin ? " as administrator" : ""}</button>
        <p class="hint">On <code>cargo dev</code> the dev server signs you in as anyone: no password.</p>
      </form>
      <p id="hosted" hidden><button type="button" id="hosted-signin" class="primary">Sign in with your account</button></p>
      <form id="token-signin" hidden>
        <p>This server does not sign anyone in itself (it is the stack in AWS): paste an access token
        from the stack's Cognito user pool (README, "Deploy").</p>
        <label for="token">Access token</label>
        <textarea id="token" name="token" rows="4" required></textarea>
        <button type="submit">Use this token</button>
      </form>
    </section>`;
  consoleConfig().then(({ sign_in: signIn }) => {
    if (!signIn) return;
    // The stack's own sign-in: Cognito's hosted pages.
    root.querySelector("#hosted").hidden = false;
    root.querySelector("#dev-signin").hidden = true;
    root.querySelector("#hosted-signin").addEventListener("click", () => hostedSignIn(signIn).catch(showError));
  });
  root.querySelector("#dev-signin").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const sub = root.querySelector("#sub").value.trim();
      if (await devSignIn(sub, admin)) {
        done();
      } else {
        root.querySelector("#dev-signin").hidden = true;
        root.querySelector("#token-signin").hidden = false;
      }
    } catch (err) {
      showError(err);
    }
  });
  root.querySelector("#token-signin").addEventListener("submit", (event) => {
    event.preventDefault();
    try {
      tokenSignIn(root.querySelector("#token").value);
      done();
    } catch (err) {
      showError(new ApiError(0, { title: "Not a token", detail: err.message }));
    }
  });
}
