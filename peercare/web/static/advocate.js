// The advocate view. Reputation is public (GET /advocates/{address}/reputation); earnings,
// answers and offers (offers.js) need a session, which Sign-In with Ethereum gives: a nonce from the API, an EIP-4361
// message laid out exactly as peercare/api/siwe.py formats it, signed by the browser wallet
// (EIP-1193 `personal_sign`), exchanged for a token kept in sessionStorage (gone with the tab).

import { checksumAddress } from "/web/keccak.js";
import {
  ApiError,
  allPages,
  api,
  el,
  formatInteger,
  fullHex,
  hexValue,
  numeric,
  quiet,
  say,
  show,
  table,
  tokenAmount,
  unixTime,
  yesNo,
} from "/web/common.js";
import { showOffers } from "/web/offers.js";

const SESSION_KEY = "peercare.advocate.session";
const STATEMENT = "Sign in to PeerCare.";
const RECENT_ANSWERS = 20;

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------- session

function storedSession() {
  try {
    const session = JSON.parse(sessionStorage.getItem(SESSION_KEY));
    if (session && session.token && session.address && session.expires_at_ms > Date.now()) return session;
  } catch {
    /* nothing usable stored */
  }
  sessionStorage.removeItem(SESSION_KEY);
  return null;
}

/** The EIP-4361 message, line for line as `SiweMessage.text()` lays it out. */
export function siweMessage({ domain, address, statement, uri, chainId, nonce, issuedAt }) {
  return [
    `${domain} wants you to sign in with your Ethereum account:`,
    address,
    "",
    statement,
    "",
    `URI: ${uri}`,
    "Version: 1",
    `Chain ID: ${chainId}`,
    `Nonce: ${nonce}`,
    `Issued At: ${issuedAt}`,
  ].join("\n");
}

function utf8Hex(text) {
  return "0x" + Array.from(new TextEncoder().encode(text), (b) => b.toString(16).padStart(2, "0")).join("");
}

function walletError(err) {
  if (err && err.code === 4001) return "you declined the request in your wallet";
  return (err && err.message) || String(err);
}

async function signIn() {
  const message = $("account-message");
  if (!window.ethereum || typeof window.ethereum.request !== "function") {
    say(
      message,
      "error",
      "A browser wallet is needed to sign in (an Ethereum wallet extension such as MetaMask, or a wallet's built-in browser). ",
      "Reputation stays visible without one.",
    );
    return;
  }
  $("sign-in").disabled = true;
  try {
    say(message, "info", "Asking your wallet for your account…");
    let accounts;
    try {
      accounts = await window.ethereum.request({ method: "eth_requestAccounts" });
    } catch (err) {
      say(message, "error", `Sign-in cancelled: ${walletError(err)}.`);
      return;
    }
    if (!accounts || accounts.length === 0) {
      say(message, "error", "Sign-in cancelled: the wallet shared no account.");
      return;
    }
    const address = checksumAddress(accounts[0]);
    const nonce = await api("POST", "/auth/nonce");
    const text = siweMessage({
      domain: location.host,
      address,
      statement: STATEMENT,
      uri: location.origin,
      chainId: nonce.chain_id,
      nonce: nonce.nonce,
      issuedAt: new Date().toISOString(),
    });
    say(message, "info", "Confirm the sign-in message in your wallet…");
    let signature;
    try {
      signature = await window.ethereum.request({ method: "personal_sign", params: [utf8Hex(text), address] });
    } catch (err) {
      say(message, "error", `Sign-in cancelled: ${walletError(err)}.`);
      return;
    }
    const session = await api("POST", "/auth/siwe", { body: { message: text, signature } });
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
    if (pageAddress() !== session.address) history.pushState(null, "", `/advocate/${session.address}`);
    await render();
  } catch (err) {
    if (err instanceof ApiError) say(message, "error", el("strong", {}, "Sign-in refused. "), `The API said: ${err.detail}`);
    else say(message, "error", `Sign-in failed: ${err.message}`);
  } finally {
    $("sign-in").disabled = false;
  }
}

async function signOut() {
  const session = storedSession();
  sessionStorage.removeItem(SESSION_KEY);
  if (session) {
    try {
      await api("POST", "/auth/logout", { token: session.token });
    } catch {
      /* the token is forgotten here either way */
    }
  }
  await render();
  say($("account-message"), "info", "Signed out.");
}

// ---------------------------------------------------------------- address

/** The address in the path (/advocate/{address}), checksummed; null if none; throws if malformed. */
function pageAddress() {
  const match = location.pathname.match(/^\/advocate\/([^/]+)\/?$/);
  if (!match) return null;
  return checksumAddress(decodeURIComponent(match[1]));
}

// ---------------------------------------------------------------- reputation

async function showReputation(address) {
  const box = $("reputation");
  show(box, el("p", { class: "message info", role: "status" }, "Loading reputation…"));
  let data;
  try {
    data = await api("GET", `/advocates/${address}/reputation`);
  } catch (err) {
    const noEpoch = err instanceof ApiError && err.status === 404;
    show(
      box,
      el(
        "p",
        { class: `message ${noEpoch ? "info" : "error"}`, role: noEpoch ? "status" : "alert", id: "reputation-message" },
        noEpoch
          ? `No reputation epoch yet: scores appear once the first epoch is published on chain (${err.detail}).`
          : `Reputation could not be loaded: ${err.detail || err.message}`,
      ),
    );
    return;
  }
  const summary = el(
    "p",
    { id: "reputation-summary" },
    "Epoch ",
    el("strong", { id: "epoch" }, String(data.epoch)),
    ` for ${data.advocate}: `,
    data.scores.length === 1 ? "1 topic." : `${data.scores.length} topics.`,
  );
  const rows = data.scores.map((s) =>
    el(
      "tr",
      { dataset: { topic: s.topic, topicLabel: s.topic_label ?? "", score: s.score } },
      el("th", { scope: "row" }, s.topic_label ?? hexValue(s.topic)),
      el("td", { class: "number", title: `${s.score} (1,000,000 = one fresh accepted answer)` }, formatInteger(s.score)),
      el("td", {}, el("details", {}, el("summary", {}, `${s.proof.length} hashes`), s.proof.map((p) => fullHex(p)))),
    ),
  );
  const scores =
    data.scores.length === 0
      ? el("p", { class: "message info", id: "no-scores" }, `No scores for this address in epoch ${data.epoch}.`)
      : table(`Scores per topic, epoch ${data.epoch}`, ["Topic", numeric("Score"), "Merkle proof"], rows);
  scores.id = scores.id || "scores";
  const verify = el(
    "aside",
    { class: "verify", id: "verify-note", "aria-label": "Verify on chain" },
    el("h3", {}, "Verify on chain"),
    el("p", {}, "Each score is a leaf of the epoch's Merkle tree, whose root is published on chain. Root of epoch ", String(data.epoch), ":"),
    fullHex(data.root),
    el(
      "p",
      {},
      "Call ",
      el("code", {}, "verifyScore(epoch, advocate, topic, score, proof)"),
      " on the ReputationRoots contract ",
      fullHex(data.reputation_roots),
      " with a row's values and its proof. The manifest with the whole tree is ",
      el("code", { class: "hex full" }, data.manifest_cid),
      ".",
    ),
  );
  show(box, summary, scores, verify);
}

// ---------------------------------------------------------------- earnings and answers

async function showPrivate(address, session) {
  const earningsBox = $("earnings");
  const answersBox = $("answers");
  show(earningsBox, el("p", { class: "message info", role: "status" }, "Loading earnings…"));
  show(answersBox);
  try {
    const [earnings, credits, answers] = await Promise.all([
      api("GET", `/advocates/${address}/earnings`, { token: session.token }),
      allPages(`/advocates/${address}/credits?limit=200`, { token: session.token }),
      allPages(`/advocates/${address}/answers?limit=200`, { token: session.token }),
    ]);
    showEarnings(earnings, address, session);
    showCredits(credits, Object.fromEntries(earnings.tokens.map((t) => [t.token, t.decimals])));
    showAnswers(answers);
    $("offers-section").hidden = false;
    await showOffers(address, session, $("offers"), $("offers-message"));
  } catch (err) {
    show(earningsBox);
    if (err instanceof ApiError && err.status === 401) {
      sessionStorage.removeItem(SESSION_KEY);
      updateButtons(null);
      say($("account-message"), "error", `Your session has ended: sign in again. (${err.detail})`);
    } else {
      say($("account-message"), "error", `Earnings and answers could not be loaded: ${err.detail || err.message}`);
    }
  }
}

function showEarnings(data, address, session) {
  const message = el("p", { class: "message", id: "withdraw-message", role: "status", "aria-live": "polite" });
  const rows = data.tokens.map((t) =>
    el(
      "tr",
      { dataset: { token: t.token } },
      el("th", { scope: "row" }, hexValue(t.token)),
      el("td", { class: "number claimable" }, tokenAmount(t.claimable, t.decimals)),
      el("td", { class: "number withdrawn" }, tokenAmount(t.withdrawn, t.decimals)),
      el("td", { class: "number credited" }, tokenAmount(t.credited, t.decimals)),
      el("td", { class: "number on-chain" }, tokenAmount(t.claimable_on_chain, t.decimals)),
      el("td", {}, BigInt(t.claimable_on_chain) > 0n ? withdrawButton(t, address, session, message) : ""),
    ),
  );
  const content =
    rows.length === 0
      ? el("p", { class: "message info", id: "no-earnings" }, "No earnings yet: accepted answers earn their question's bounty.")
      : table("Earnings per token", ["Token", numeric("Claimable"), numeric("Withdrawn"), numeric("Credited, ever"), numeric("Claimable on chain now"), "Withdraw"], rows);
  content.id = content.id || "earnings-table";
  show($("earnings"), el("h3", {}, "Earnings"), content, message);
}

/** Withdraw everything claimable in a token to the advocate's own address: the wallet signs the
 * EIP-712 withdrawal (POST .../withdrawals/draft), the oracle relays it (no gas for the advocate). */
function withdrawButton(earning, address, session, message) {
  const button = el("button", { type: "button", class: "withdraw", dataset: { token: earning.token } }, "Withdraw (no gas)");
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const draft = await api("POST", `/advocates/${address}/withdrawals/draft`, {
        token: session.token,
        body: { token: earning.token },
      });
      const signature = await window.ethereum.request({
        method: "eth_signTypedData_v4",
        params: [address, JSON.stringify(draft.typed_data)],
      });
      const queued = await api("POST", `/advocates/${address}/withdrawals`, {
        token: session.token,
        body: { token: draft.token, to: draft.to, nonce: draft.nonce, deadline: draft.deadline, signature },
      });
      say(message, "ok", "Withdrawal sent: the oracle relays it to the ledger (no gas for you). Amount: ", tokenAmount(queued.amount, earning.decimals));
    } catch (err) {
      button.disabled = false;
      say(message, "error", `Withdrawal not sent: ${err.detail || err.message || err}`);
    }
  });
  return button;
}

/** Each credit: a whole bounty, or a swarm's share of one (the share the routing committed to). */
function showCredits({ items, complete }, decimals) {
  if (items.length === 0) {
    show($("credits"));
    return;
  }
  const rows = items.map((c) => {
    const share =
      c.share_bps === null ? "bounty not indexed" : c.swarm ? `${(c.share_bps / 100).toFixed(2)}% swarm share` : "whole bounty";
    return el(
      "tr",
      { dataset: { question: c.question_id } },
      el("th", { scope: "row" }, hexValue(c.question_id)),
      el("td", { class: "number amount" }, tokenAmount(c.amount, decimals[c.token])),
      el("td", { class: "number bounty" }, c.bounty === null ? "" : tokenAmount(c.bounty, decimals[c.token])),
      el("td", { class: "share" }, share),
      el("td", {}, new Date(c.block_time * 1000).toISOString().slice(0, 16).replace("T", " ")),
    );
  });
  const caption = complete ? "Credits" : "Credits (the first pages)";
  const content = table(caption, ["Question", numeric("Credited"), numeric("Bounty"), "Share", "When (UTC)"], rows);
  content.id = "credits-table";
  show($("credits"), el("h3", {}, "Credits: bounties and swarm shares"), content);
}

function showAnswers({ items, complete }) {
  const recent = items.slice(-RECENT_ANSWERS).reverse();
  const rows = recent.map((a) =>
    el(
      "tr",
      { dataset: { answerId: a.answer_id } },
      el("td", {}, unixTime(a.block_time)),
      el("td", {}, hexValue(a.answer_id)),
      el("td", {}, hexValue(a.question_id)),
      el("td", { class: "number" }, a.brand_id === null ? "?" : String(a.brand_id)),
      el("td", {}, a.batch_root === null ? "directly" : el("span", {}, "batch ", hexValue(a.batch_root), ` leaf ${a.leaf_index}`)),
      el("td", {}, a.accepted ? yesNo(true, "accepted") : el("span", { class: "unknown" }, "not (yet) accepted")),
      el("td", { class: "number" }, a.ratings === 0 ? "none" : `${a.rating_average} (${a.ratings})`),
    ),
  );
  const heading = el("h3", {}, "Recent answers");
  if (rows.length === 0) {
    show($("answers"), heading, el("p", { class: "message info", id: "no-answers" }, "No answers recorded on chain yet."));
    return;
  }
  const caption = `Latest ${rows.length} of ${items.length}${complete ? "" : "+"} answers recorded on chain, newest first`;
  const answers = table(caption, ["Recorded", "Answer", "Question", numeric("Brand"), "Anchored", "Accepted", numeric("Rating (count)")], rows);
  answers.id = "answers-table";
  show($("answers"), heading, answers);
}

// ---------------------------------------------------------------- page

function updateButtons(session) {
  $("sign-in").hidden = Boolean(session);
  $("sign-out").hidden = !session;
}

async function render() {
  const lookupMessage = $("lookup-message");
  quiet(lookupMessage);
  quiet($("account-message"));
  show($("earnings"));
  show($("credits"));
  show($("answers"));
  show($("offers"));
  $("offers-section").hidden = true;
  const session = storedSession();
  updateButtons(session);
  let address;
  try {
    address = pageAddress() ?? session?.address ?? null;
  } catch (err) {
    say(lookupMessage, "error", `This page's address is not an address: ${err.message}.`);
    show($("reputation"));
    return;
  }
  if (address === null) {
    show($("reputation"), el("p", { class: "message info" }, "Enter an address, or sign in with your wallet."));
    return;
  }
  $("address").value = address;
  document.title = `PeerCare: advocate ${address.slice(0, 8)}…`;
  const reputation = showReputation(address);
  if (session && session.address === address) {
    say($("account-message"), "ok", "Signed in as ", el("code", { id: "signed-in-as" }, session.address), ".");
    await showPrivate(address, session);
  } else if (session) {
    say(
      $("account-message"),
      "info",
      `Signed in as ${session.address}: earnings are shown for your own address only. `,
      el("a", { href: `/advocate/${session.address}` }, "Show mine"),
    );
  }
  await reputation;
}

function lookup(event) {
  event.preventDefault();
  const value = $("address").value.trim();
  let address;
  try {
    address = checksumAddress(value);
  } catch {
    say($("lookup-message"), "error", "An address is 0x followed by 40 hexadecimal digits.");
    return;
  }
  history.pushState(null, "", `/advocate/${address}`);
  render();
}

$("lookup").addEventListener("submit", lookup);
$("sign-in").addEventListener("click", signIn);
$("sign-out").addEventListener("click", signOut);
window.addEventListener("popstate", render);
render();
