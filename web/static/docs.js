// The interactive API docs: Swagger UI (vendored) over /openapi.yaml, whose server is "/", so
// "Try it out" calls the server the page came from. On `cargo dev` the page signs its calls with
// a dev token for the chosen user (an administrator, "ops", to begin with); elsewhere use
// Swagger UI's own Authorize button with a token from Cognito.

import { devToken } from "./api.js";

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
  let token;
  try {
    token = await devToken(sub, admin);
  } catch (err) {
    status(`${err.problem.title}: ${err.message}`, true);
    return true;
  }
  if (token === null) return false;
  ui.preauthorizeApiKey("bearerAuth", token);
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
