// The back office: stock levels (low ones marked) and setting them, recent orders of every
// customer and their status, the notifications sent, and on `cargo dev` the request rate and
// p99 from /metrics. Views by the URL's hash: #/stock #/orders #/notifications #/metrics.

import { api, esc, finishHostedSignIn, money, renderSignIn, say, session, showError, signOut } from "./api.js";

const view = document.getElementById("view");
// LOW_STOCK_THRESHOLD's default: the stream consumer sends low_stock below it.
const LOW = 10;
const NEXT = { confirmed: ["shipped", "cancelled"], shipped: ["delivered"], delivered: [], cancelled: [] };
let metricsTimer = null;

function stockRow(l) {
  const low = l.available < LOW;
  return `<tr class="${low ? "low" : ""}" data-product="${esc(l.product_id)}">
    <th scope="row">${esc(l.product_id)}</th>
    <td>${esc(l.available)}${low ? ' <span class="badge low">Low stock</span>' : ""}</td>
    <td>${esc(l.reserved)}</td>
    <td>${esc(l.shards)}</td>
    <td><form class="set row">
      <label class="visually-hidden" for="set-${esc(l.product_id)}">Available units of ${esc(l.product_id)}</label>
      <input id="set-${esc(l.product_id)}" type="number" min="0" value="${esc(l.available)}" required>
      <button type="submit">Set<span class="visually-hidden"> ${esc(l.product_id)}</span></button>
    </form></td>
  </tr>`;
}

/** Stock levels a page at a time in product id order, or the one level `?product=` names. */
async function stock(params) {
  const product = params.get("product") || "";
  const cursor = params.get("cursor") || "";
  let levels;
  let next = null;
  if (product) {
    levels = [await api("GET", `/stock/${encodeURIComponent(product)}`)];
  } else {
    const query = new URLSearchParams({ limit: "50" });
    if (cursor) query.set("cursor", cursor);
    const page = await api("GET", `/stock?${query}`);
    levels = page.items;
    next = page.next_cursor;
  }
  const paging = [
    product || cursor ? `<a class="button" href="#/stock">First page</a>` : "",
    next ? `<a class="button" href="#/stock?${new URLSearchParams({ cursor: next })}">Next page</a>` : "",
  ].join("");
  view.innerHTML = `
    <h2>Stock</h2>
    <form id="find" class="row" role="search">
      <label for="find-product">Product id</label>
      <input id="find-product" value="${esc(product)}" required>
      <button type="submit">Find</button>
    </form>
    <p class="hint">Rows below ${LOW} available are marked: the level at which a low_stock notification goes out.</p>
    <table>
      <thead><tr><th scope="col">Product</th><th scope="col">Available</th><th scope="col">Reserved</th><th scope="col">Shards</th><th scope="col">Set available</th></tr></thead>
      <tbody>${levels.map(stockRow).join("") || '<tr><td colspan="5">No stock levels.</td></tr>'}</tbody>
    </table>
    <nav class="row" aria-label="Pages">${paging}</nav>`;
  view.querySelector("#find").addEventListener("submit", (event) => {
    event.preventDefault();
    location.hash = `#/stock?${new URLSearchParams({ product: view.querySelector("#find-product").value.trim() })}`;
  });
  view.querySelectorAll("form.set").forEach((form) =>
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const productId = form.closest("tr").dataset.product;
      try {
        const level = await api("PUT", `/stock/${encodeURIComponent(productId)}`, {
          available: Number(form.querySelector("input").value),
        });
        say(`${productId}: ${level.available} available.`);
        await stock(params);
      } catch (err) {
        showError(err);
      }
    }),
  );
}

async function orders() {
  // Every order is confirmed first, and each confirmation is a notification: the newest 25
  // are the newest orders of every customer.
  const confirmations = await api("GET", "/notifications?kind=order_confirmation&limit=25");
  const list = await Promise.all(
    confirmations.items.map((n) => api("GET", `/orders/${encodeURIComponent(n.order_id)}`).catch(() => null)),
  );
  const rows = list
    .filter(Boolean)
    .map((o) => {
      const options = NEXT[o.status].map((s) => `<option value="${s}">${s}</option>`).join("");
      const change = options
        ? `<form class="status row">
            <label class="visually-hidden" for="st-${esc(o.id)}">New status of ${esc(o.id)}</label>
            <select id="st-${esc(o.id)}">${options}</select>
            <button type="submit">Apply<span class="visually-hidden"> to ${esc(o.id)}</span></button>
          </form>`
        : "";
      return `<tr data-order="${esc(o.id)}">
        <th scope="row">${esc(o.id)}</th>
        <td>${esc(o.customer_id)}</td>
        <td>${esc(money(o.total, o.currency))}</td>
        <td><span class="badge ${esc(o.status)}">${esc(o.status)}</span></td>
        <td>${change}</td>
      </tr>`;
    })
    .join("");
  view.innerHTML = `
    <h2>Orders</h2>
    <table>
      <thead><tr><th scope="col">Order</th><th scope="col">Customer</th><th scope="col">Total</th><th scope="col">Status</th><th scope="col">Change</th></tr></thead>
      <tbody>${rows || '<tr><td colspan="5">No orders yet.</td></tr>'}</tbody>
    </table>`;
  view.querySelectorAll("form.status").forEach((form) =>
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const id = form.closest("tr").dataset.order;
      try {
        const status = form.querySelector("select").value;
        await api("PATCH", `/orders/${encodeURIComponent(id)}`, { status });
        say(`Order ${id} is ${status}.`);
        await orders();
      } catch (err) {
        showError(err);
      }
    }),
  );
}

async function notifications() {
  const page = await api("GET", "/notifications?limit=50");
  const rows = page.items
    .map(
      (n) => `<tr>
        <td>${esc(new Date(n.created_at).toLocaleString())}</td>
        <td><span class="badge">${esc(n.kind)}</span></td>
        <td>${esc(n.message)}</td>
        <td>${esc(n.status)}</td>
      </tr>`,
    )
    .join("");
  view.innerHTML = `
    <h2>Notifications</h2>
    <table>
      <thead><tr><th scope="col">When</th><th scope="col">Kind</th><th scope="col">Message</th><th scope="col">Delivery</th></tr></thead>
      <tbody>${rows || '<tr><td colspan="4">None yet.</td></tr>'}</tbody>
    </table>`;
}

/** The totals of the Prometheus text `text`: requests, and the request-duration buckets. */
function scrape(text) {
  let requests = 0;
  const buckets = new Map();
  for (const line of text.split("\n")) {
    if (line.startsWith("http_requests_total{")) {
      requests += Number(line.split(" ").pop());
    } else if (line.startsWith("http_request_duration_seconds_bucket{")) {
      const le = /le="([^"]+)"/.exec(line)[1];
      buckets.set(le, (buckets.get(le) || 0) + Number(line.split(" ").pop()));
    }
  }
  return { requests, buckets, at: performance.now() };
}

/** The p99 between two scrapes: the smallest bucket bound holding 99% of the new requests. */
function p99(before, after) {
  const bounds = [...after.buckets.keys()].sort((a, b) => (a === "+Inf" ? 1 : b === "+Inf" ? -1 : Number(a) - Number(b)));
  const total = (after.buckets.get("+Inf") || 0) - (before.buckets.get("+Inf") || 0);
  if (total <= 0) return null;
  for (const le of bounds) {
    const count = after.buckets.get(le) - (before.buckets.get(le) || 0);
    if (count >= 0.99 * total) return le;
  }
  return "+Inf";
}

async function metrics() {
  const response = await fetch("/metrics");
  if (!response.ok) {
    view.innerHTML = `<h2>Live metrics</h2><p>This server serves no /metrics: in AWS the same figures are on the stack's CloudWatch dashboard (the DashboardUrl output).</p>`;
    return;
  }
  view.innerHTML = `
    <h2>Live metrics</h2>
    <p class="hint">From this dev server's /metrics, every 2 seconds.</p>
    <dl class="figures">
      <dt>Requests per second</dt><dd id="rate">…</dd>
      <dt>p99 latency (bucket bound)</dt><dd id="p99">…</dd>
      <dt>Requests since start</dt><dd id="total">…</dd>
    </dl>`;
  let before = scrape(await response.text());
  metricsTimer = setInterval(async () => {
    if (!location.hash.startsWith("#/metrics")) {
      clearInterval(metricsTimer);
      return;
    }
    const after = scrape(await (await fetch("/metrics")).text());
    const seconds = (after.at - before.at) / 1000;
    document.getElementById("rate").textContent = ((after.requests - before.requests) / seconds).toFixed(1);
    const bound = p99(before, after);
    document.getElementById("p99").textContent = bound === null ? "no requests" : `≤ ${bound} s`;
    document.getElementById("total").textContent = String(after.requests);
    before = after;
  }, 2000);
}

async function route() {
  clearInterval(metricsTimer);
  const s = session();
  document.getElementById("who").textContent = s ? `Signed in as ${s.sub}${s.admin ? " (admin)" : ""}` : "Not signed in";
  document.getElementById("signout").hidden = !s;
  if (!s || !s.admin) {
    renderSignIn(view, { admin: true, defaultSub: "ops", done: () => route() });
    if (s) say(`Signed in as ${s.sub}, who is not an administrator: sign in as one for the back office.`);
    return;
  }
  const [path, query] = location.hash.replace(/^#\/?/, "").split("?");
  const part = path || "stock";
  const params = new URLSearchParams(query || "");
  document.querySelectorAll("nav.main a").forEach((a) => {
    if (a.getAttribute("href") === `#/${part}`) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  });
  try {
    if (part === "orders") await orders();
    else if (part === "notifications") await notifications();
    else if (part === "metrics") await metrics();
    else await stock(params);
  } catch (err) {
    showError(err);
    view.innerHTML = `<p class="error">${esc(err.message)}</p>`;
  }
}

document.getElementById("signout").addEventListener("click", () => {
  signOut();
  route();
});
window.addEventListener("hashchange", route);
finishHostedSignIn()
  .catch(showError)
  .finally(route);
