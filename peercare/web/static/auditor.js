// The auditor view: with an auditor API key (kept in sessionStorage), every published epoch's
// verification (GET /audit/epochs, then GET /audit/epochs/{epoch} for each, newest first, one at a
// time: each recomputes the epoch) and one answer's check (GET /audit/answers/{id}).

import { ApiError, allPages, api, el, formatInteger, fullHex, hexValue, quiet, say, show, table, unixTime, yesNo } from "/web/common.js";

const KEY = "peercare.auditor.key";
const $ = (id) => document.getElementById(id);

function storedKey() {
  return sessionStorage.getItem(KEY);
}

function refused(err) {
  if (!(err instanceof ApiError)) return `Unexpected error: ${err.message}`;
  if (err.status === 401) return `The API refused the key (401 Unauthorized): ${err.detail}.`;
  if (err.status === 403) return `This key may not do this (403 Forbidden): ${err.detail}.`;
  return `The API answered ${err.status || "nothing"}: ${err.detail}`;
}

// ---------------------------------------------------------------- epochs

async function checkEpochs() {
  const key = storedKey();
  const box = $("epochs");
  if (!key) {
    show(box, el("p", { class: "message info" }, "Enter an auditor key to check the epochs."));
    return;
  }
  show(box, el("p", { class: "message info", role: "status" }, "Listing the published epochs…"));
  let listed;
  try {
    listed = await allPages("/audit/epochs?limit=200", { token: key });
  } catch (err) {
    show(box);
    say($("key-message"), "error", refused(err));
    return;
  }
  say($("key-message"), "ok", "Key accepted.");
  if (listed.items.length === 0) {
    show(box, el("p", { class: "message info", id: "no-epochs" }, "No reputation epoch has been published on chain yet."));
    return;
  }
  const epochs = [...listed.items].reverse();
  const progress = el("p", { class: "message info", role: "status", id: "epochs-progress" }, `Checking ${epochs.length} epochs…`);
  const rows = epochs.map((e) =>
    el(
      "tr",
      { dataset: { epoch: String(e.epoch), status: "checking" } },
      el("th", { scope: "row" }, String(e.epoch)),
      el("td", { class: "status" }, el("span", { class: "unknown" }, "checking…")),
      el("td", { class: "root-on-chain" }, fullHex(e.root)),
      el("td", { class: "root-recomputed" }, "…"),
      el("td", {}, unixTime(e.block_time), el("br"), "block ", formatInteger(String(e.block_number))),
      el("td", { class: "differences" }, "…"),
    ),
  );
  const epochTable = table(
    "Verification per epoch, newest first",
    ["Epoch", "Status", "Root on chain", "Root recomputed", "Published", "Differences"],
    rows,
  );
  epochTable.id = "epochs-table";
  show(box, progress, epochTable);
  let failed = 0;
  for (const [index, published] of epochs.entries()) {
    const row = rows[index];
    try {
      const audit = await api("GET", `/audit/epochs/${published.epoch}`, { token: key });
      fillEpoch(row, audit);
      if (!audit.ok) failed++;
    } catch (err) {
      failed++;
      row.dataset.status = "error";
      show(row.querySelector(".status"), el("span", { class: "bad" }, "✗ not checked"));
      show(row.querySelector(".differences"), refused(err));
    }
  }
  say(
    progress,
    failed === 0 ? "ok" : "error",
    failed === 0
      ? epochs.length === 1
        ? "The published epoch is verified."
        : `All ${epochs.length} published epochs are verified.`
      : `${failed} of ${epochs.length} published epochs do not verify.`,
  );
}

function fillEpoch(row, audit) {
  row.dataset.status = audit.ok ? "verified" : "mismatch";
  show(row.querySelector(".status"), yesNo(audit.ok, "verified", "mismatch"));
  if (audit.root_on_chain !== null) show(row.querySelector(".root-on-chain"), fullHex(audit.root_on_chain));
  show(row.querySelector(".root-recomputed"), audit.root_recomputed === null ? "none" : fullHex(audit.root_recomputed));
  const details = [];
  if (audit.ok) details.push(`none (${audit.leaves ?? "?"} scores)`);
  else if (audit.mismatches.length === 0) details.push(audit.message);
  else details.push(el("ul", {}, audit.mismatches.map((m) => el("li", {}, m))));
  show(row.querySelector(".differences"), details);
}

// ---------------------------------------------------------------- one answer

async function checkAnswer(event) {
  event.preventDefault();
  const box = $("answer-result");
  const key = storedKey();
  const id = $("answer-id").value.trim();
  if (!key) {
    show(box, el("p", { class: "message error", role: "alert" }, "Enter an auditor key first."));
    return;
  }
  if (!/^0x[0-9a-fA-F]{64}$/.test(id)) {
    show(box, el("p", { class: "message error", role: "alert" }, "An answer id is 0x followed by 64 hexadecimal digits."));
    return;
  }
  show(box, el("p", { class: "message info", role: "status" }, "Checking the answer…"));
  let audit;
  try {
    audit = await api("GET", `/audit/answers/${id}`, { token: key });
  } catch (err) {
    show(box, el("p", { class: "message error", role: "alert", id: "answer-error" }, refused(err)));
    return;
  }
  const batch = audit.batch;
  const proof =
    batch === null
      ? el("span", { class: "good" }, "recorded directly (no batch: nothing to prove)")
      : yesNo(batch.proof_valid, "valid", "invalid");
  const items = [
    ["Answer", fullHex(audit.answer_id)],
    ["Merkle proof", el("span", { id: "proof-valid", dataset: { value: batch === null ? "direct" : String(batch.proof_valid) } }, proof)],
    ["Recorded on chain", el("span", { id: "recorded", dataset: { value: String(audit.record.recorded_on_chain) } }, yesNo(audit.record.recorded_on_chain))],
    ["Content", el("span", { id: "content-status", dataset: { value: audit.content.status } }, contentStatus(audit.content))],
    ["Brand", String(audit.record.brand_id)],
    ["Advocate", fullHex(audit.record.advocate)],
    ["Question", fullHex(audit.record.question_id)],
    ["Block", el("span", {}, formatInteger(String(audit.record.block_number)), " at ", unixTime(audit.record.block_time))],
    ["Transaction", fullHex(audit.record.tx_hash)],
  ];
  if (batch !== null) {
    items.push(["Batch root", fullHex(batch.root)]);
    items.push(["Leaf", `${batch.leaf_index} of ${batch.size ?? "?"} (manifest ${batch.manifest_status ?? "unknown"})`]);
    if (batch.problem) items.push(["Problem", el("span", { class: "bad" }, batch.problem)]);
  }
  show(
    box,
    el("h3", {}, "Result"),
    el("dl", { id: "answer-audit" }, items.map(([term, value]) => [el("dt", {}, term), el("dd", {}, value)])),
  );
}

function contentStatus(content) {
  const label = {
    available: "stored, and hashes to its digest",
    erased: "erased on request",
    missing: "no store holds it",
    corrupted: "the stored bytes do not hash to its digest",
    "unknown-key": "stored, and hashes to its digest; its key is not held here",
  }[content.status];
  const text = `${content.status}${label ? `: ${label}` : ""}`;
  if (content.erasure) return el("span", {}, text, ` (by ${content.erasure.erased_by} on ${content.erasure.erased_at}: ${content.erasure.reason})`);
  return el("span", { class: content.content_matches === false ? "bad" : content.content_matches ? "good" : "unknown" }, text);
}

// ---------------------------------------------------------------- key

function useKey(event) {
  event.preventDefault();
  const key = $("api-key").value.trim();
  if (!key) return;
  sessionStorage.setItem(KEY, key);
  $("api-key").value = "";
  start();
}

function forgetKey() {
  sessionStorage.removeItem(KEY);
  show($("answer-result"));
  start();
  say($("key-message"), "info", "Key forgotten.");
}

function start() {
  quiet($("key-message"));
  $("forget-key").hidden = !storedKey();
  checkEpochs();
}

$("key-form").addEventListener("submit", useKey);
$("forget-key").addEventListener("click", forgetKey);
$("answer-form").addEventListener("submit", checkAnswer);
start();
