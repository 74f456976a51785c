// The shop: the catalog by category and page, a product with its price chart, the cart and its
// checkout (one Idempotency-Key per attempt, so a double click orders once), my orders and
// their notifications. Views by the URL's hash: #/ #/p/<id> #/cart #/orders #/o/<id>.

import { api, esc, finishHostedSignIn, money, newKey, renderSignIn, say, session, showError, signOut } from "./api.js";
import { priceChart } from "./chart.js";

const view = document.getElementById("view");
const CART = "web";
let checkoutKey = null;
let checkingOut = false;

function cartPath() {
  return `/carts/${CART}`;
}

async function header() {
  const s = session();
  document.getElementById("who").textContent = s ? `Signed in as ${s.sub}` : "Not signed in";
  document.getElementById("signout").hidden = !s;
  const count = document.getElementById("cart-count");
  if (!s) {
    count.textContent = "";
    return;
  }
  try {
    const cart = await api("GET", cartPath());
    const units = cart.items.reduce((n, l) => n + l.quantity, 0);
    count.textContent = units ? `(${units})` : "";
  } catch {
    count.textContent = "";
  }
}

async function catalog(params) {
  const category = params.get("category") || "";
  const cursor = params.get("cursor") || "";
  const all = await api("GET", "/products?limit=100");
  const categories = [...new Set(all.items.map((p) => p.category).filter(Boolean))].sort();
  const query = new URLSearchParams({ limit: "6" });
  if (category) query.set("category", category);
  if (cursor) query.set("cursor", cursor);
  const page = await api("GET", `/products?${query}`);
  // The categories of the first hundred products as suggestions; any category can be typed.
  const options = categories.map((c) => `<option value="${esc(c)}"></option>`).join("");
  const items = page.items
    .map(
      (p) => `<li class="card product">
        <h3><a href="#/p/${encodeURIComponent(p.id)}">${esc(p.name)}</a></h3>
        <p class="price">${esc(money(p.price, p.currency))}</p>
        <p class="muted">${esc(p.category || "")}</p>
      </li>`,
    )
    .join("");
  const next = page.next_cursor
    ? `<a class="button" href="#/?${new URLSearchParams({ category, cursor: page.next_cursor })}">Next page</a>`
    : "";
  const first = cursor ? `<a class="button" href="#/?${new URLSearchParams({ category })}">First page</a>` : "";
  view.innerHTML = `
    <h2>Catalog</h2>
    <form id="filter" class="row">
      <label for="category">Category</label>
      <input id="category" name="category" list="categories" value="${esc(category)}" placeholder="All" pattern="[A-Za-z0-9_\\-]{1,64}">
      <datalist id="categories">${options}</datalist>
      <button type="submit">Show</button>
    </form>
    <ul class="grid" aria-label="Products">${items || "<li>No products.</li>"}</ul>
    <nav class="row" aria-label="Pages">${first}${next}</nav>`;
  view.querySelector("#filter").addEventListener("submit", (event) => {
    event.preventDefault();
    const chosen = view.querySelector("#category").value;
    location.hash = `#/?${new URLSearchParams({ category: chosen })}`;
  });
}

async function product(id) {
  const p = await api("GET", `/products/${encodeURIComponent(id)}`);
  let chart = "<p>No price history.</p>";
  try {
    chart = priceChart(await api("GET", `/products/${encodeURIComponent(id)}/prices?days=30`));
  } catch (err) {
    chart = `<p class="error">${esc(err.message)}</p>`;
  }
  view.innerHTML = `
    <article class="card">
      <h2>${esc(p.name)}</h2>
      <p class="price">${esc(money(p.price, p.currency))}</p>
      <p>${esc(p.description || "")}</p>
      <form id="add" class="row">
        <label for="quantity">Quantity</label>
        <input id="quantity" name="quantity" type="number" min="1" max="1000" value="1" required>
        <button type="submit">Add to cart</button>
      </form>
      <h3>Price, last 30 days</h3>
      ${chart}
    </article>`;
  view.querySelector("#add").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const quantity = Number(view.querySelector("#quantity").value);
      await api("POST", `${cartPath()}/items`, { product_id: p.id, quantity });
      say(`Added ${quantity} × ${p.name} to the cart.`);
      header();
    } catch (err) {
      showError(err);
    }
  });
}

async function cart() {
  let c;
  try {
    c = await api("GET", cartPath());
  } catch (err) {
    if (err.status !== 404) throw err;
    c = { items: [], subtotal: 0, currency: null };
  }
  if (!c.items.length) {
    view.innerHTML = `<h2>Cart</h2><p>Your cart is empty. <a href="#/">Browse the catalog</a>.</p>`;
    return;
  }
  const rows = c.items
    .map(
      (l) => `<tr data-product="${esc(l.product_id)}">
        <th scope="row">${esc(l.name)}</th>
        <td><label class="visually-hidden" for="q-${esc(l.product_id)}">Quantity of ${esc(l.name)}</label>
          <input id="q-${esc(l.product_id)}" class="qty" type="number" min="0" max="1000" value="${l.quantity}"></td>
        <td>${esc(money(l.unit_price, c.currency))}</td>
        <td>${esc(money(l.line_total, c.currency))}</td>
        <td><button type="button" class="remove">Remove<span class="visually-hidden"> ${esc(l.name)}</span></button></td>
      </tr>`,
    )
    .join("");
  view.innerHTML = `
    <h2>Cart</h2>
    <table class="lines">
      <thead><tr><th scope="col">Product</th><th scope="col">Quantity</th><th scope="col">Price</th><th scope="col">Total</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
      <tbody>${rows}</tbody>
      <tfoot><tr><th scope="row" colspan="3">Subtotal</th><td id="subtotal">${esc(money(c.subtotal, c.currency))}</td><td></td></tr></tfoot>
    </table>
    <button type="button" id="checkout" class="primary">Check out</button>`;
  view.querySelectorAll("input.qty").forEach((input) =>
    input.addEventListener("change", async () => {
      const productId = input.closest("tr").dataset.product;
      try {
        await api("PUT", `${cartPath()}/items/${encodeURIComponent(productId)}`, { quantity: Number(input.value) });
        checkoutKey = null; // another cart: another checkout
        await cart();
        header();
        say("Cart updated.");
      } catch (err) {
        showError(err);
      }
    }),
  );
  view.querySelectorAll("button.remove").forEach((button) =>
    button.addEventListener("click", async () => {
      const productId = button.closest("tr").dataset.product;
      try {
        await api("DELETE", `${cartPath()}/items/${encodeURIComponent(productId)}`);
        checkoutKey = null;
        await cart();
        header();
        say("Removed.");
      } catch (err) {
        showError(err);
      }
    }),
  );
  view.querySelector("#checkout").addEventListener("click", checkout);
}

async function checkout(event) {
  // One attempt at a time; a retry of the same cart sends the same key, so the API places
  // the order once however often the button is pressed.
  if (checkingOut) return;
  checkingOut = true;
  const button = event.currentTarget;
  button.disabled = true;
  checkoutKey = checkoutKey || newKey();
  try {
    const order = await api("POST", `${cartPath()}/checkout`, {}, { idempotencyKey: checkoutKey });
    checkoutKey = null;
    location.hash = `#/o/${encodeURIComponent(order.id)}`;
    say(`Order ${order.id} placed: ${money(order.total, order.currency)}.`);
    header();
  } catch (err) {
    showError(err);
    button.disabled = false;
  } finally {
    checkingOut = false;
  }
}

async function orders() {
  const page = await api("GET", "/orders?limit=20");
  const rows = page.items
    .map(
      (o) => `<tr>
        <th scope="row"><a href="#/o/${encodeURIComponent(o.id)}">${esc(o.id)}</a></th>
        <td>${esc(new Date(o.created_at).toLocaleString())}</td>
        <td>${esc(money(o.total, o.currency))}</td>
        <td><span class="badge ${esc(o.status)}">${esc(o.status)}</span></td>
      </tr>`,
    )
    .join("");
  view.innerHTML = `
    <h2>My orders</h2>
    ${rows ? `<table><thead><tr><th scope="col">Order</th><th scope="col">Placed</th><th scope="col">Total</th><th scope="col">Status</th></tr></thead><tbody>${rows}</tbody></table>` : "<p>No orders yet.</p>"}`;
}

async function order(id) {
  const o = await api("GET", `/orders/${encodeURIComponent(id)}`);
  const lines = o.items
    .map((l) => `<li>${esc(l.quantity)} × ${esc(l.name || l.product_id)} — ${esc(money(l.line_total, o.currency))}</li>`)
    .join("");
  view.innerHTML = `
    <article class="card">
      <h2>Order ${esc(o.id)}</h2>
      <p>Status: <span class="badge ${esc(o.status)}" id="order-status">${esc(o.status)}</span></p>
      <ul>${lines}</ul>
      <p>Total ${esc(money(o.total, o.currency))}</p>
      <h3>Notifications</h3>
      <ul id="notifications" aria-live="polite"><li class="muted">Waiting for the first one…</li></ul>
    </article>`;
  // The notification is sent by the stream consumer a moment after the order: look again for
  // a few seconds.
  for (let attempt = 0; attempt < 20 && location.hash === `#/o/${encodeURIComponent(id)}`; attempt++) {
    const page = await api("GET", `/notifications?order_id=${encodeURIComponent(id)}`);
    if (page.items.length) {
      view.querySelector("#notifications").innerHTML = page.items
        .map((n) => `<li class="notification"><span class="badge">${esc(n.kind)}</span> ${esc(n.message)} <span class="muted">(${esc(n.status)})</span></li>`)
        .join("");
      if (page.items.every((n) => n.status === "sent")) return;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function route() {
  const s = session();
  await header();
  if (!s) {
    renderSignIn(view, { admin: false, defaultSub: "cust-ada", done: () => route() });
    return;
  }
  const [path, query] = location.hash.replace(/^#/, "").split("?");
  const params = new URLSearchParams(query || "");
  const parts = (path || "/").split("/").filter(Boolean);
  document.querySelectorAll("nav.main a").forEach((a) => {
    const current = a.getAttribute("href") === `#/${parts[0] || ""}`;
    if (current) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  });
  try {
    if (parts[0] === "p") await product(decodeURIComponent(parts[1]));
    else if (parts[0] === "cart") await cart();
    else if (parts[0] === "orders") await orders();
    else if (parts[0] === "o") await order(decodeURIComponent(parts[1]));
    else await catalog(params);
  } catch (err) {
    showError(err);
    view.innerHTML = `<p class="error">${esc(err.message)}</p>`;
  }
}

document.getElementById("signout").addEventListener("click", () => {
  signOut();
  location.hash = "#/";
  route();
});
window.addEventListener("hashchange", route);
finishHostedSignIn()
  .catch(showError)
  .finally(route);
