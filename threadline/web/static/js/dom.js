/** A tiny element builder and formatting helpers. Nothing is ever set through innerHTML, so text from the
 * server is always text. */

/** `h("button", { class: "x", onclick }, "Label")`: props that start with `on` become listeners, `true`
 * becomes an empty attribute, `null`/`false` are left out; children may be nested arrays. */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else if (key === "class") element.className = value;
    else if (key === "dataset") Object.assign(element.dataset, value);
    else if (key === "value") element.value = value;
    else element.setAttribute(key, value === true ? "" : value);
  }
  element.append(...children.flat(Infinity).filter((child) => child !== null && child !== undefined && child !== false));
  return element;
}

/** A button that submits nothing: `button("Rename", onclick, { class: "secondary small" })`. */
export function button(label, onclick, props = {}) {
  return h("button", { type: "button", ...props, onclick }, label);
}

/** Swap an element's children for new ones. */
export function replaceChildren(element, ...children) {
  element.replaceChildren(...children.flat(Infinity).filter((child) => child !== null && child !== undefined && child !== false));
}

const timeOfDay = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const dayAndTime = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });

/** A timestamp as people read it: the time today, the day and time before. */
export function formatTime(timestamp) {
  const date = new Date(timestamp);
  return (new Date().toDateString() === date.toDateString() ? timeOfDay : dayAndTime).format(date);
}

/** Newest first by `last_active_at`, the order of the API's lists. */
export function byLastActive(a, b) {
  return Date.parse(b.last_active_at) - Date.parse(a.last_active_at);
}

let toastTimer = null;

/** Say something briefly in the alert region (failures, and what happened behind the person's back). */
export function toast(text) {
  const region = document.getElementById("toasts");
  region.replaceChildren(h("p", { class: "toast" }, text));
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => region.replaceChildren(), 6000);
}
