/** Sign in and sign up: one form with two modes. */

import { Api } from "./api.js";
import { button, h, replaceChildren } from "./dom.js";

export function renderAuth(root, { onSignedIn, notice = null }) {
  const api = new Api();
  let mode = "sign-in";
  const error = h("p", { class: "form-error", role: "alert" });
  const nameField = h("div", { class: "field", hidden: true },
    h("label", { for: "auth-name" }, "Your name"),
    h("input", { id: "auth-name", name: "name", autocomplete: "name", maxlength: 100 }));
  const submit = h("button", { type: "submit", class: "primary wide" }, "Sign in");
  const tabs = {
    "sign-in": button("Sign in", () => setMode("sign-in"), { role: "tab" }),
    "sign-up": button("Create account", () => setMode("sign-up"), { role: "tab" }),
  };
  const form = h("form", { class: "auth-form", "aria-labelledby": "auth-title", onsubmit: send },
    nameField,
    h("div", { class: "field" },
      h("label", { for: "auth-email" }, "Email"),
      h("input", { id: "auth-email", name: "email", type: "email", required: true, autocomplete: "email", maxlength: 254 })),
    h("div", { class: "field" },
      h("label", { for: "auth-password" }, "Password"),
      h("input", { id: "auth-password", name: "password", type: "password", required: true, minlength: 8, maxlength: 128, autocomplete: "current-password" })),
    error,
    submit);

  function setMode(next) {
    mode = next;
    const signingUp = mode === "sign-up";
    nameField.hidden = !signingUp;
    submit.textContent = signingUp ? "Create account" : "Sign in";
    form.elements.password.autocomplete = signingUp ? "new-password" : "current-password";
    for (const [name, tab] of Object.entries(tabs)) tab.setAttribute("aria-selected", String(name === mode));
    error.textContent = "";
  }

  async function send(event) {
    event.preventDefault();
    const { name, email, password } = Object.fromEntries(new FormData(form));
    submit.disabled = true;
    error.textContent = "";
    try {
      if (mode === "sign-up") await api.post("/v1/auth/register", { email, password, ...(name.trim() ? { name } : {}) });
      onSignedIn(await api.post("/v1/auth/login", { email, password }));
    } catch (failure) {
      error.textContent = failure.message;
      submit.disabled = false;
    }
  }

  setMode(mode);
  replaceChildren(root,
    h("main", { class: "auth" },
      h("section", { class: "auth-card" },
        h("div", { class: "brand" }, h("span", { class: "logo", "aria-hidden": "true" }), "Threadline"),
        h("h1", { id: "auth-title" }, "Conversations that keep up"),
        h("p", { class: "muted" }, "Shared workspaces, live replies, nothing missed."),
        notice && h("p", { class: "notice", role: "status" }, notice),
        h("div", { class: "tabs", role: "tablist", "aria-label": "Sign in or create an account" }, Object.values(tabs)),
        form)));
  form.elements.email.focus();
}
