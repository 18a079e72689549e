// Dead letters waiting (GET /api/admin/dead-letters), each with a Replay button
// (POST /api/admin/dead-letters/{id}/replay): the message goes back on its queue.

import { call } from "./api.js";
import { badge, el, fillTable, time } from "./dom.js";

function replayButton(letter) {
  const button = el("button", { type: "button", className: "replay" }, "Replay");
  button.addEventListener("click", async () => {
    button.disabled = true;
    const row = button.closest("tr");
    try {
      await call("POST", `/api/admin/dead-letters/${encodeURIComponent(letter.id)}/replay`);
      row.dataset.state = "replayed";
      button.replaceWith(badge("replayed", true));
    } catch (error) {
      row.dataset.state = "failed";
      button.replaceWith(badge(`replay failed (${error.status})`, false, error.message));
    }
  });
  return button;
}

/** A replayed letter stays listed, marked, until the next refresh. */
export function renderDeadLetters(table, page) {
  const rows = page.items.map((letter) => ({
    data: { id: letter.id, state: "waiting" },
    cells: [
      time(letter.time),
      letter.queue,
      letter.body.type ?? "–",
      letter.attempts,
      el("span", { className: "error-text" }, letter.last_error ?? "–"),
      replayButton(letter),
    ],
  }));
  fillTable(table, ["Time", "Queue", "Event", "Attempts", "Last error", ""], rows, "No dead letters waiting.");
}
