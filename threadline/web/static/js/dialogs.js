/** Modal dialogs on the native <dialog> element: it traps focus, closes on Escape and gives focus back to
 * what opened it. Each function answers a promise of what the person chose (null or false: cancelled). */

import { button, h } from "./dom.js";

let fieldNumber = 0;

function field({ name, label, value = "", type = "text", options, required = false, maxlength }) {
  const id = `field-${++fieldNumber}`;
  const input = options
    ? h("select", { id, name }, options.map((option) => h("option", { value: option, selected: option === value }, option)))
    : h("input", { id, name, type, value, required, maxlength, autocomplete: "off" });
  return h("div", { class: "field" }, h("label", { for: id }, label), input);
}

/** A dialog named by its heading. */
function dialogWith(title, ...content) {
  const id = `dialog-title-${++fieldNumber}`;
  return h("dialog", { "aria-labelledby": id }, h("h2", { id }, title), ...content);
}

function openDialog(dialog) {
  document.body.append(dialog);
  dialog.addEventListener("close", () => dialog.remove());
  dialog.showModal();
}

/** A form in a dialog, under an optional message; answers its values by field name, or null. */
export function formDialog({ title, message = null, fields = [], submit, danger = false }) {
  return new Promise((resolve) => {
    const form = h("form", { method: "dialog" },
      message && h("p", {}, message),
      fields.map(field),
      h("div", { class: "dialog-actions" },
        button("Cancel", () => dialog.close(), { class: "secondary" }),
        h("button", { type: "submit", class: danger ? "danger" : "primary" }, submit)));
    const dialog = dialogWith(title, form);
    form.addEventListener("submit", () => resolve(Object.fromEntries(new FormData(form))));
    dialog.addEventListener("close", () => resolve(null));  // after a submit: already resolved
    openDialog(dialog);
  });
}

/** A yes/no question; answers true when confirmed. */
export async function confirmDialog({ title, message, confirm, danger = true }) {
  return (await formDialog({ title, message, submit: confirm, danger })) !== null;
}

/** A dialog whose content the caller builds and keeps up to date; answers the <dialog>. */
export function panelDialog(title, ...content) {
  const dialog = dialogWith(title,
    button("✕", () => dialog.close(), { class: "icon close", "aria-label": "Close" }),
    ...content);
  dialog.classList.add("panel");
  openDialog(dialog);
  return dialog;
}
