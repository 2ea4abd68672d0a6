// What both pages share: calls to the API (errors carry the problem document's `detail`), DOM
// building without innerHTML (displayed data is always text), and number formatting.

export const API = "/api/v1";
export const TOKEN_DECIMALS = 18;

/** An API error: the HTTP status and the problem document's `detail`. */
export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
    this.detail = detail;
  }
}

/** The JSON body of `method path`, or an ApiError saying what the API refused and why. */
export async function api(method, path, { token = null, body = undefined } = {}) {
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(API + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    throw new ApiError(0, `the API cannot be reached (${err.message})`);
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const detail = data && typeof data.detail === "string" ? data.detail : text || response.statusText;
    throw new ApiError(response.status, detail);
  }
  return data;
}

/** Every item of a paged list (`items`, `next_cursor`), following cursors up to `maxPages`. */
export async function allPages(path, options = {}, maxPages = 50) {
  const items = [];
  let cursor = null;
  for (let page = 0; page < maxPages; page++) {
    const separator = path.includes("?") ? "&" : "?";
    const data = await api("GET", cursor === null ? path : `${path}${separator}cursor=${cursor}`, options);
    items.push(...data.items);
    if (data.next_cursor === null) return { items, complete: true };
    cursor = encodeURIComponent(data.next_cursor);
  }
  return { items, complete: false };
}

/** An element with attributes and children (strings become text nodes, never markup). */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Replace a container's content. */
export function show(container, ...children) {
  container.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined));
}

/** Put a message in a status region: kind is "info", "ok" or "error" (errors are announced). */
export function say(region, kind, ...children) {
  region.className = `message ${kind}`;
  region.setAttribute("role", kind === "error" ? "alert" : "status");
  show(region, ...children);
  region.hidden = false;
}

export function quiet(region) {
  region.hidden = true;
  show(region);
}

/** A token amount given in its smallest unit (a decimal string): "1,234.5" for 1234.5 * 10^18. */
export function formatUnits(raw, decimals = TOKEN_DECIMALS) {
  const value = BigInt(raw);
  const unit = 10n ** BigInt(decimals);
  const whole = (value / unit).toLocaleString("en-US");
  const fraction = (value % unit).toString().padStart(decimals, "0").replace(/0+$/, "");
  return fraction ? `${whole}.${fraction}` : whole;
}

/** A token amount: the tokens shown, the raw value in the title (and in data-raw for scripts). */
export function tokenAmount(raw, decimals = TOKEN_DECIMALS) {
  const title = `${raw} (smallest units, ${decimals} decimals)`;
  return el("span", { class: "amount", title, dataset: { raw, decimals: String(decimals) } }, formatUnits(raw, decimals));
}

/** An integer (a decimal string, possibly past 2^53) with thousands separators. */
export function formatInteger(raw) {
  return BigInt(raw).toLocaleString("en-US");
}

/** A long hex value shortened for reading ("0x1234…cdef"), whole in the title, selectable as code. */
export function hexValue(value) {
  const short = value.length > 14 ? `${value.slice(0, 8)}…${value.slice(-6)}` : value;
  return el("code", { class: "hex", title: value, dataset: { value } }, short);
}

/** A hex value shown whole (roots: what an auditor compares), wrapping as needed. */
export function fullHex(value) {
  return el("code", { class: "hex full", dataset: { value } }, value);
}

export function unixTime(seconds) {
  const date = new Date(seconds * 1000);
  return el("time", { datetime: date.toISOString() }, date.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC"));
}

export function yesNo(value, yes = "yes", no = "no") {
  if (value === null || value === undefined) return el("span", { class: "unknown" }, "unknown");
  return el("span", { class: value ? "good" : "bad" }, value ? `✓ ${yes}` : `✗ ${no}`);
}

/** A column header for numbers (aligned right, like its cells). */
export function numeric(label) {
  return { label, numeric: true };
}

/** A table with a caption, column headers (strings, or `numeric(label)`) and rows. */
export function table(caption, headers, rows) {
  return el(
    "table",
    {},
    el("caption", {}, caption),
    el("thead", {}, el("tr", {}, headers.map((h) => (typeof h === "string" ? el("th", { scope: "col" }, h) : el("th", { scope: "col", class: "number" }, h.label))))),
    el("tbody", {}, rows),
  );
}
