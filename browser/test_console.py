"""The console and the API docs in a real browser: Playwright driving Chromium against a running
dev server (`cargo dev`), as a shopper, as an administrator and as a keyboard-only user, with an
accessibility check (axe-core) of every page.

    .venv/bin/python browser/test_console.py http://127.0.0.1:3000 [--shots DIR]

Needs a dev server (it signs in through `POST /dev/token`) and Chromium (Debian's `chromium`,
or CHROMIUM=path). Each run makes its own category, products and customers under a fresh run id,
so it can share a server with anything else. Exits 1 on the first failure; prints each step's
time and where the screenshots went.
"""

import base64
import hashlib
import json
import secrets
import threading
import urllib.parse
import sys
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml
from playwright.sync_api import Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
AXE = ROOT / "browser" / "vendor" / "axe.min.js"
BASE = sys.argv[1].rstrip("/") if len(sys.argv) > 1 else "http://127.0.0.1:3000"
SHOTS = Path(sys.argv[sys.argv.index("--shots") + 1]) if "--shots" in sys.argv else ROOT / "target" / "browser"
RUN = secrets.token_hex(3)
CATEGORY = f"browser-{RUN}"
LAMP, MUG = f"lamp-{RUN}", f"mug-{RUN}"
SHOPPER, KEYS = f"shopper-{RUN}", f"keys-{RUN}"
TIMES: list[tuple[str, float]] = []
# What each page weighs on a first load: bytes of every response, by page.
WEIGHTS: dict[str, tuple[int, int]] = {}


def call(method, path, body=None, token=None, key=None):
    """The API, directly: setup and checks the pages do not make themselves."""
    headers = {"content-type": "application/json", "accept": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    if key:
        headers["idempotency-key"] = key
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(BASE + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request) as response:
            text = response.read().decode()
            return response.status, (json.loads(text) if text else None)
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read().decode() or "null")


def token(sub, admin=False):
    status, body = call("POST", "/dev/token", {"sub": sub, "admin": admin})
    assert status == 200, (status, body)
    return body["token"]


def setup():
    """A category of its own: a lamp with 12 units (an order of 3 leaves 9: low stock) whose
    price changed once, and a mug with 40."""
    admin = token(f"ops-{RUN}", admin=True)
    for sku, name, price, units in ((LAMP, "Browser lamp", 2000, 12), (MUG, "Browser mug", 800, 40)):
        status, body = call("POST", "/products", {"id": sku, "name": f"{name} {RUN}", "price": price,
                                                  "currency": "USD", "category": CATEGORY}, admin)
        assert status == 201, (status, body)
        status, body = call("PUT", f"/stock/{sku}", {"available": units}, admin)
        assert status == 200, (status, body)
    status, body = call("PUT", f"/products/{LAMP}", {"name": f"Browser lamp {RUN}", "price": 2200,
                                                     "currency": "USD", "category": CATEGORY}, admin)
    assert status == 200, (status, body)
    return admin


def step(name):
    class Timer:
        def __enter__(self):
            self.started = time.monotonic()
            print(f"-- {name}", flush=True)

        def __exit__(self, kind, *_):
            TIMES.append((name, time.monotonic() - self.started))

    return Timer()


def first_loads(browser, admin_token, shopper_token):
    """Bytes received on a first load (an empty cache) of each page, signed in, until the
    network is idle: the page, its scripts and styles, and the API answers it shows."""
    pages = (("/shop", shopper_token, False), ("/admin", admin_token, True), ("/docs", None, False))
    with step("page weights: first load of each page"):
        for path, bearer, admin in pages:
            context = browser.new_context()
            if bearer:
                session = json.dumps({"token": bearer, "sub": "weigh", "admin": admin})
                context.add_init_script(f"sessionStorage.setItem('stockroom.session', {json.dumps(session)})")
            page = context.new_page()
            total = [0, 0]

            def add(response, total=total):
                try:
                    total[0] += len(response.body())
                    total[1] += 1
                except Exception:  # noqa: BLE001 - a redirect or an aborted request has no body
                    pass

            page.on("response", add)
            page.goto(BASE + path, wait_until="networkidle")
            WEIGHTS[path] = tuple(total)
            context.close()


def accessible(page: Page, what, exclude=None):
    """axe-core on the page as it is now: no serious or critical violation."""
    # Through the DevTools protocol: the pages' Content-Security-Policy (rightly) refuses an
    # injected <script>, and the pages are tested as served, CSP included.
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text() + "\n;true")
    context = {"exclude": [[exclude]]} if exclude else None
    result = page.evaluate("context => axe.run(context || document)", context)
    bad = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    details = [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}" for v in bad]
    assert not bad, f"{what}: " + "; ".join(details)


def shot(page: Page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def sign_in_shop(page: Page, sub):
    page.goto(BASE + "/shop")
    page.get_by_label("Customer id").fill(sub)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Catalog")).to_be_visible()


def shopper(browser):
    context = browser.new_context()
    page = context.new_page()
    with step("shopper: sign in, browse a category, open a product and its price chart"):
        sign_in_shop(page, SHOPPER)
        page.get_by_label("Category").fill(CATEGORY)
        page.get_by_role("button", name="Show").click()
        products = page.get_by_role("list", name="Products").get_by_role("listitem")
        expect(products).to_have_count(2)
        accessible(page, "shop: catalog")
        shot(page, "shop-catalog")
        page.get_by_role("link", name=f"Browser lamp {RUN}").click()
        expect(page.get_by_role("heading", name=f"Browser lamp {RUN}")).to_be_visible()
        expect(page.locator("figure.chart svg[role=img]")).to_be_visible()
        expect(page.locator("figure.chart")).to_contain_text("Average")
        accessible(page, "shop: product")
        shot(page, "shop-product")
    with step("shopper: add two products, change a quantity"):
        page.get_by_label("Quantity").fill("2")
        page.get_by_role("button", name="Add to cart").click()
        expect(page.locator("#status")).to_contain_text("Added 2")
        page.goto(f"{BASE}/shop#/p/{MUG}")
        expect(page.get_by_role("heading", name=f"Browser mug {RUN}")).to_be_visible()
        page.get_by_role("button", name="Add to cart").click()
        expect(page.locator("#status")).to_contain_text("Added 1")
        page.get_by_role("link", name="Cart").click()
        expect(page.locator("table.lines tbody tr")).to_have_count(2)
        page.get_by_label(f"Quantity of Browser lamp {RUN}").fill("3")
        page.get_by_label(f"Quantity of Browser lamp {RUN}").press("Tab")
        expect(page.locator("#subtotal")).to_have_text("$74.00")  # 3 x 22.00 + 8.00
        accessible(page, "shop: cart")
        shot(page, "shop-cart")
    with step("shopper: check out with a double click: one order, confirmed, notified"):
        page.get_by_role("button", name="Check out").dblclick()
        expect(page.get_by_role("heading", name="Order")).to_be_visible(timeout=10_000)
        expect(page.locator("#order-status")).to_have_text("confirmed")
        expect(page.locator("#notifications")).to_contain_text("order_confirmation", timeout=10_000)
        status, orders = call("GET", f"/orders?customer_id={SHOPPER}", token=token(f"ops-{RUN}", True))
        assert status == 200 and len(orders["items"]) == 1, f"a double click made {len(orders['items'])} orders"
        accessible(page, "shop: order")
        shot(page, "shop-order")
        page.get_by_role("link", name="My orders").click()
        expect(page.get_by_role("row")).to_have_count(2)  # the header and the one order
    context.close()
    return orders["items"][0]["id"]


def administrator(browser, order_id):
    context = browser.new_context()
    page = context.new_page()
    with step("admin: stock fell by what was ordered, the lamp is low; ship the order"):
        page.goto(BASE + "/admin")
        page.get_by_role("button", name="Sign in as administrator").click()
        expect(page.get_by_role("heading", name="Stock")).to_be_visible()
        shot(page, "admin-stock")
        # The server may hold any number of other levels: find each by its id.
        page.get_by_label("Product id").fill(LAMP)
        page.get_by_role("button", name="Find").click()
        lamp = page.get_by_role("row").filter(has_text=LAMP)
        expect(lamp).to_contain_text("9")  # 12 - 3
        expect(lamp).to_contain_text("Low stock")
        expect(lamp).to_have_class("low")
        page.get_by_label("Product id").fill(MUG)
        page.get_by_role("button", name="Find").click()
        mug = page.get_by_role("row").filter(has_text=MUG)
        expect(mug).to_contain_text("39")
        expect(mug).not_to_contain_text("Low stock")
        accessible(page, "admin: stock")
        page.get_by_role("link", name="Orders").click()
        row = page.get_by_role("row").filter(has_text=order_id)
        row.get_by_label(f"New status of {order_id}").select_option("shipped")
        row.get_by_role("button", name=f"Apply to {order_id}").click()
        expect(page.get_by_role("row").filter(has_text=order_id)).to_contain_text("shipped")
        status, order = call("GET", f"/orders/{order_id}", token=token(f"ops-{RUN}", True))
        assert order["status"] == "shipped", order
        accessible(page, "admin: orders")
        shot(page, "admin-orders")
        page.get_by_role("link", name="Notifications").click()
        expect(page.locator("main")).to_contain_text("order_shipped", timeout=10_000)
        accessible(page, "admin: notifications")
        page.get_by_role("link", name="Live metrics").click()
        expect(page.locator("#rate")).not_to_have_text("…", timeout=10_000)
        accessible(page, "admin: metrics")
    context.close()


def errors_are_shown(browser):
    """An error the API answers is on the page in the API's words. Run twice: as the pages are,
    and with a console whose error display is broken, where the same check must fail."""

    def check(break_it):
        context = browser.new_context()
        page = context.new_page()
        if break_it:
            original = (ROOT / "web" / "static" / "api.js").read_text()
            broken = original.replace("status.textContent = [problem.title", "status.textContent = ''; [problem.title")
            assert broken != original
            page.route("**/static/api.js", lambda route: route.fulfill(body=broken, content_type="text/javascript"))
        sign_in_shop(page, f"late-{RUN}")
        page.goto(f"{BASE}/shop#/p/{LAMP}")
        page.get_by_label("Quantity").fill("50")
        page.get_by_role("button", name="Add to cart").click()
        expect(page.locator("#status")).to_contain_text("Added 50")
        page.get_by_role("link", name="Cart").click()
        page.get_by_role("button", name="Check out").click()
        # The API's 409 names the product and what is left: the page must say it.
        expect(page.locator("#status")).to_contain_text("available", timeout=5_000)
        expect(page.locator("#status")).to_contain_text(LAMP)
        expect(page.get_by_role("button", name="Check out")).to_be_enabled()
        context.close()

    with step("errors: a refused checkout shows the API's detail (and the check fails without it)"):
        check(break_it=False)
        try:
            check(break_it=True)
        except AssertionError:
            pass
        else:
            raise AssertionError("the error check passed with a console that shows no errors")


def keyboard_only(browser):
    context = browser.new_context()
    page = context.new_page()

    def tab_to(text, limit=60):
        """Presses Tab until the focused control's label starts with `text`."""
        for _ in range(limit):
            page.keyboard.press("Tab")
            focused = page.evaluate(
                "(e => e && e !== document.body ? (e.innerText || e.value || e.getAttribute('aria-label') || '').trim() : '')"
                "(document.activeElement)"
            )
            if focused.startswith(text):
                return
        raise AssertionError(f"Tab never reached {text!r}")

    with step("keyboard only: sign in, add a product, check out"):
        page.goto(BASE + "/shop")
        page.get_by_label("Customer id").focus()
        page.keyboard.press("Control+A")
        page.keyboard.type(KEYS)
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Catalog")).to_be_visible()
        page.goto(f"{BASE}/shop#/p/{MUG}")
        expect(page.get_by_role("heading", name=f"Browser mug {RUN}")).to_be_visible()
        tab_to("Add to cart")
        page.keyboard.press("Enter")
        expect(page.locator("#status")).to_contain_text("Added 1")
        tab_to("Cart")
        page.keyboard.press("Enter")
        expect(page.locator("table.lines tbody tr")).to_have_count(1)
        tab_to("Check out")
        page.keyboard.press("Enter")
        expect(page.locator("#order-status")).to_have_text("confirmed", timeout=10_000)
    context.close()


class StandInCognito(BaseHTTPRequestHandler):
    """Cognito's hosted sign-in as the console uses it: /oauth2/authorize signs the user in at
    once and redirects back with a code; /oauth2/token gives the access token (a dev token for
    that user, which the dev server's authorizer accepts) only for the code's PKCE verifier."""

    CLIENT = "console-client"
    USER = f"hosted-{RUN}"
    codes: dict = {}
    exchanged: list = []

    def log_message(self, *_):
        pass

    def do_GET(self):  # noqa: N802 - http.server's name
        url = urllib.parse.urlparse(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        ok = (url.path == "/oauth2/authorize" and q.get("response_type") == "code"
              and q.get("client_id") == self.CLIENT and q.get("code_challenge_method") == "S256"
              and q.get("redirect_uri") in (BASE + "/shop", BASE + "/admin") and q.get("code_challenge"))
        if not ok:
            self.send_response(400)
            self.end_headers()
            return
        code = secrets.token_urlsafe(12)
        self.codes[code] = (q["code_challenge"], q["redirect_uri"])
        back = f"{q['redirect_uri']}?{urllib.parse.urlencode({'code': code, 'state': q['state']})}"
        # The signed-in page sends the browser back (Cognito answers the sign-in form with a
        # redirect; a page that navigates on is the same for the console, and Playwright routes
        # a navigation, not a redirect, which the test needs to give /shop its sign-in policy).
        page = f'<!doctype html><meta http-equiv="refresh" content="0;url={back}"><title>Signed in</title>'.encode()
        self.send_response(200)
        self.send_header("content-type", "text/html")
        self.send_header("content-length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def do_POST(self):  # noqa: N802
        form = dict(urllib.parse.parse_qsl(self.rfile.read(int(self.headers["content-length"])).decode()))
        challenge, redirect = self.codes.pop(form.get("code"), (None, None))
        verifier = form.get("code_verifier", "")
        computed = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
        valid = (challenge is not None and computed == challenge and form.get("redirect_uri") == redirect
                 and form.get("client_id") == self.CLIENT and form.get("grant_type") == "authorization_code")
        body = {"access_token": token(self.USER), "token_type": "Bearer", "expires_in": 3600} if valid \
            else {"error": "invalid_grant"}
        self.exchanged.append(valid)
        data = json.dumps(body).encode()
        self.send_response(200 if valid else 400)
        self.send_header("content-type", "application/json")
        self.send_header("access-control-allow-origin", BASE)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def hosted_sign_in(browser):
    """/shop with the stack's hosted sign-in configured (as WebFunction serves it when
    ConsoleUrl is set), against a stand-in for Cognito: the authorization code flow with PKCE."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), StandInCognito)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    authority = f"http://127.0.0.1:{server.server_address[1]}"
    context = browser.new_context()
    page = context.new_page()
    config = json.dumps({"sign_in": {"url": authority, "client_id": StandInCognito.CLIENT}})
    page.route("**/console.json", lambda route: route.fulfill(body=config, content_type="application/json"))

    def with_policy(route):
        # The page's policy as WebFunction sends it with hosted sign-in: its token endpoint allowed.
        response = route.fetch()
        headers = dict(response.headers)
        headers["content-security-policy"] = headers["content-security-policy"].replace(
            "connect-src 'self'", f"connect-src 'self' {authority}")
        route.fulfill(response=response, headers=headers)

    page.route(lambda url: url == f"{BASE}/shop" or url.startswith(f"{BASE}/shop?"), with_policy)
    with step("hosted sign-in: authorization code with PKCE against a stand-in for Cognito"):
        page.goto(BASE + "/shop")
        page.get_by_role("button", name="Sign in with your account").click()
        expect(page.get_by_role("heading", name="Catalog")).to_be_visible(timeout=10_000)
        expect(page.locator("#who")).to_have_text(f"Signed in as {StandInCognito.USER}")
        assert "code=" not in page.url, page.url
        assert StandInCognito.exchanged == [True], StandInCognito.exchanged
        page.get_by_role("link", name="My orders").click()
        expect(page.get_by_role("heading", name="My orders")).to_be_visible()
        accessible(page, "shop: hosted sign-in")
    context.close()
    server.shutdown()


def docs(browser):
    context = browser.new_context()
    page = context.new_page()
    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    operations = sum(1 for item in spec["paths"].values() for method in item if method in
                     ("get", "put", "post", "delete", "patch"))
    with step(f"docs: all {operations} operations rendered; try-it GET /products answers 200"):
        page.goto(BASE + "/docs")
        expect(page.locator(".opblock")).to_have_count(operations, timeout=15_000)
        expect(page.locator("#status")).to_contain_text("signed as ops")
        block = page.locator("#operations-Catalog-list_products")
        block.locator(".opblock-summary").click()
        # The page opens every operation ready to try (tryItOutEnabled).
        block.get_by_role("button", name="Execute").click()
        expect(block.locator(".live-responses-table tbody .response-col_status").first).to_have_text("200", timeout=10_000)
        shot(page, "docs")
        # Swagger UI's own markup is not ours to fix: the check covers the page around it.
        accessible(page, "docs (outside Swagger UI)", exclude="#swagger")
    context.close()


def main():
    executable = __import__("os").environ.get("CHROMIUM", "/usr/bin/chromium")
    started = time.monotonic()
    with step("setup: a category, two products, their stock"):
        admin = setup()
    with sync_playwright() as p:
        # Local Network Access off: the stand-in for Cognito listens on loopback, which Chromium
        # otherwise asks the user about (the real one is a public address). Nothing else the
        # pages call leaves their own origin.
        browser = p.chromium.launch(
            executable_path=executable,
            args=["--no-sandbox", "--disable-features=LocalNetworkAccessChecks"],
        )
        order_id = shopper(browser)
        administrator(browser, order_id)
        errors_are_shown(browser)
        keyboard_only(browser)
        hosted_sign_in(browser)
        docs(browser)
        first_loads(browser, admin, token(SHOPPER))
        browser.close()
    print("\nTime per step:")
    for name, seconds in TIMES:
        print(f"  {seconds:5.1f}s  {name}")
    print("\nFirst load of each page, signed in (bytes of every response: page, scripts, styles, API answers):")
    for page_name, (size, count) in WEIGHTS.items():
        print(f"  {page_name:8} {size:>10,} bytes in {count} responses")
    print(f"\nScreenshots: {SHOTS}")
    print(f"browser: passed in {time.monotonic() - started:.0f}s against {BASE}")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as err:
        print(f"browser: FAILED: {err}", file=sys.stderr)
        sys.exit(1)
