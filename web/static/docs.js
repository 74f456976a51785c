// The interactive API docs: Swagger UI (vendored) over /openapi.yaml, whose server is "/", so
// "Try it out" calls the server the page came from. On `cargo dev` the page signs its calls with
// a dev token for the chosen user (an administrator, "ops", to begin with); elsewhere use
// Swagger UI's own Authorize button with a token from Cognito.

const ui = window.SwaggerUIBundle({
  url: "/openapi.yaml",
  dom_id: "#swagger",
  deepLinking: true,
  tryItOutEnabled: true,
  displayRequestDuration: true,
});

function status(message, error) {
  const line = document.getElementById("status");
  line.className = error ? "status error" : "status";
  line.textContent = message;
}

async function useDevToken(sub, admin) {
  const response = await fetch("/dev/token", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ sub, admin }),
  });
  if (response.status === 404 || response.status === 405) return false;
  const body = await response.json();
  if (!response.ok) {
    status(`${body.title}: ${body.detail}`, true);
    return true;
  }
  ui.preauthorizeApiKey("bearerAuth", body.token);
  status(`Try-it calls are signed as ${sub}${admin ? " (admin)" : ""} with a dev token.`);
  return true;
}

const form = document.getElementById("dev-token");
form.addEventListener("submit", (event) => {
  event.preventDefault();
  useDevToken(document.getElementById("token-sub").value.trim(), document.getElementById("token-admin").checked);
});
// Once the spec has loaded (preauthorizing needs its security schemes).
const ready = setInterval(async () => {
  if (!ui.getSystem().specSelectors.isOAS3()) return;
  clearInterval(ready);
  if (await useDevToken("ops", true)) form.hidden = false;
}, 100);
