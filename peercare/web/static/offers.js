// The questions routing offered the signed-in advocate (GET /advocates/{a}/offers): each with its
// text, bounty, role and why, a countdown of its exclusive window, Accept and Decline, and an
// answer form: the answer is drafted (POST .../answers/draft), its EIP-712 typed data signed by the
// browser wallet (eth_signTypedData_v4) and submitted (POST .../answers), relayed by the oracle (no
// gas for the advocate) and posted back to the ticket where the customer asked.

import { ApiError, api, el, hexValue, say, show, tokenAmount } from "/web/common.js";

const timers = new Set();

/** "12:05" for 725 seconds; "1:02:03" past an hour. */
export function countdown(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, "0")}:${rest}` : `${minutes}:${rest}`;
}

function roleText(offer) {
  if (offer.role === "answerer") return "answer it";
  const share = `${(offer.share_bps / 100).toFixed(2)}% of the bounty`;
  return offer.role === "expert" ? `join the swarm as the brand's expert (${share})` : `join the swarm (${share})`;
}

function stopTimers() {
  for (const timer of timers) clearInterval(timer);
  timers.clear();
}

/** Show the advocate's offers in `box`; `message` is where outcomes are said. */
export async function showOffers(address, session, box, message) {
  stopTimers();
  show(box, el("p", { class: "message info", role: "status" }, "Loading offers…"));
  let data;
  try {
    data = await api("GET", `/advocates/${address}/offers`, { token: session.token });
  } catch (err) {
    show(box);
    say(message, "error", `Offers could not be loaded: ${err.detail || err.message}`);
    if (err instanceof ApiError && err.status === 401) throw err;
    return;
  }
  if (data.items.length === 0) {
    show(box, el("p", { class: "message info", id: "no-offers" }, "No question is offered to you right now."));
    return;
  }
  const refresh = () => showOffers(address, session, box, message);
  show(box, ...data.items.map((offer) => offerCard(address, session, offer, message, refresh)));
}

function offerCard(address, session, offer, message, refresh) {
  const q = offer.question;
  const left = el("span", { class: "countdown", dataset: { endsAtMs: String(offer.window_ends_at_ms) } });
  const card = el(
    "article",
    { class: "offer", dataset: { questionId: offer.question_id, state: offer.state } },
    el("h3", {}, q ? q.title || "(no title)" : "(the question's text can no longer be read)"),
    q ? el("p", { class: "tags" }, ...q.tags.map((t) => el("span", { class: "tag" }, t))) : el("span"),
    q ? el("p", { class: "question-text" }, q.text) : el("span"),
    el(
      "dl",
      {},
      el("dt", {}, "Brand"),
      el("dd", {}, `${offer.brand_name} (ticket ${offer.ticket_id})`),
      el("dt", {}, "Bounty"),
      el("dd", { class: "bounty" }, tokenAmount(offer.bounty, offer.decimals ?? undefined)),
      el("dt", {}, "You are asked to"),
      el("dd", { class: "role" }, roleText(offer)),
      el("dt", {}, "Round"),
      el("dd", {}, String(offer.round)),
      el("dt", {}, offer.state === "offered" ? "Time left to accept" : "Accepted"),
      el("dd", {}, offer.state === "offered" ? left : "yes: it counts toward your open questions"),
    ),
    el("details", {}, el("summary", {}, "Why you"), el("p", { class: "why" }, offer.why), el("p", {}, "Decision ", hexValue(offer.commitment))),
  );
  if (offer.state === "offered") {
    const tick = () => {
      const seconds = (offer.window_ends_at_ms - Date.now()) / 1000;
      left.textContent = seconds > 0 ? countdown(seconds) : "ended: the question moves on";
      if (seconds <= 0) card.dataset.state = "ended";
    };
    tick();
    timers.add(setInterval(tick, 1000));
    const reason = el("input", { type: "text", class: "decline-reason", maxlength: "500", placeholder: "Reason (optional)" });
    const accept = el("button", { type: "button", class: "accept" }, "Accept");
    const decline = el("button", { type: "button", class: "decline secondary" }, "Decline");
    const decide = async (verb, body) => {
      accept.disabled = decline.disabled = true;
      try {
        await api("POST", `/advocates/${address}/offers/${offer.question_id}/${verb}`, { token: session.token, body });
        say(message, "ok", verb === "accept" ? "Accepted: the question is yours to answer." : "Declined: it goes to someone else.");
      } catch (err) {
        say(message, "error", `Not ${verb === "accept" ? "accepted" : "declined"}: ${err.detail || err.message}`);
      }
      await refresh();
    };
    accept.addEventListener("click", () => decide("accept", { round: offer.round }));
    decline.addEventListener("click", () => {
      const text = reason.value.trim();
      decide("decline", text ? { round: offer.round, reason: text } : { round: offer.round });
    });
    card.append(el("div", { class: "actions" }, accept, decline, el("label", {}, reason)));
  }
  if (offer.role !== "expert") card.append(answerForm(address, session, offer, message, refresh));
  return card;
}

function answerForm(address, session, offer, message, refresh) {
  const text = el("textarea", { class: "answer-text", rows: "5", maxlength: "20000", required: "" });
  const send = el("button", { type: "submit" }, "Sign and send answer");
  const form = el("form", { class: "answer-form" }, el("label", {}, "Your answer", text), send);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = text.value.trim();
    if (!body) return;
    send.disabled = true;
    try {
      const draft = await api("POST", `/advocates/${address}/answers/draft`, {
        token: session.token,
        body: { question_id: offer.question_id, body },
      });
      const signature = await window.ethereum.request({
        method: "eth_signTypedData_v4",
        params: [address, JSON.stringify(draft.typed_data)],
      });
      const sent = await api("POST", `/advocates/${address}/answers`, {
        token: session.token,
        body: {
          question_id: offer.question_id,
          content_cid: draft.content_cid,
          nonce: draft.nonce,
          deadline: draft.deadline,
          signature,
        },
      });
      say(message, "ok", "Answer sent: the oracle relays it to the ledger (no gas for you) and posts it on the ticket. ", hexValue(sent.answer_id));
      await refresh();
    } catch (err) {
      send.disabled = false;
      say(message, "error", `Answer not sent: ${err.detail || err.message || err}`);
    }
  });
  return form;
}
