// Building the page's elements from data (as text only: nothing from an answer is ever
// parsed as HTML), and the number and time formats every panel shares.

/** `<tag>` with its properties (`className`, `title`, `data: {...}`...) and children. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "data") Object.assign(node.dataset, value);
    else node[key] = value;
  }
  node.append(...children.filter((child) => child != null).map((child) => (child instanceof Node ? child : String(child))));
  return node;
}

/** Fills `table` with a header row and one row per entry; a row is an array of cells
 * (text, numbers or nodes), or `{ cells, data }` to give the row data attributes. */
export function fillTable(table, headings, rows, empty) {
  const head = el("thead", {}, el("tr", {}, ...headings.map((text) => el("th", { scope: "col" }, text))));
  const body = el("tbody");
  for (const row of rows) {
    const { cells, data = {} } = Array.isArray(row) ? { cells: row } : row;
    body.append(el("tr", { data }, ...cells.map((cell) => el("td", {}, cell))));
  }
  if (!rows.length) body.append(el("tr", {}, el("td", { colSpan: headings.length, className: "empty" }, empty)));
  table.replaceChildren(head, body);
}

/** A state as a green (`good`) or red badge, `title` (if any) its tooltip. */
export const badge = (text, good, title) => el("span", { className: good ? "badge good" : "badge bad", ...(title && { title }) }, text);

/** A panel's note (empty, unavailable, failed) in place of its content. */
export function note(target, text, className = "note") {
  target.replaceChildren(el("p", { className }, text));
}

const numbers = new Intl.NumberFormat("en", { maximumFractionDigits: 2 });
export const number = (value) => (value == null ? "–" : numbers.format(value));
export const percent = (part, whole) => (whole ? `${numbers.format((100 * part) / whole)}%` : "–");
export const usd = (value) => `$${value < 0.01 && value > 0 ? value.toPrecision(2) : numbers.format(value)}`;
/** An RFC 3339 time as `HH:MM:SS` UTC, the full time in its tooltip. */
export const time = (iso) => (iso ? el("time", { dateTime: iso, title: iso }, iso.slice(11, 19)) : "–");
