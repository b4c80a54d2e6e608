// The chat page: talks to the emulator's client API (/emulator/...) and follows its events
// (server-sent events, no polling). Bot messages keep their line breaks; the HTML (and
// MarkdownV2) formatting the Bot API allows is rendered from a whitelist, never as raw HTML.
"use strict";

const API = "/emulator";
const $ = (id) => document.getElementById(id);
const state = { users: [], chats: [], user: null, chat: null, messages: new Map(), replyTo: null };

async function api(method, path, body) {
  const res = await fetch(API + path, {
    method,
    headers: body ? { "content-type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let data;
  try { data = JSON.parse(text); } catch (_) { data = { error: text }; }
  if (!res.ok) throw new Error(data.error || res.statusText);
  return data;
}

function showError(e) {
  const box = $("error");
  box.textContent = String(e.message || e);
  box.hidden = false;
  clearTimeout(showError.timer);
  showError.timer = setTimeout(() => { box.hidden = true; }, 4000);
}

function showToast(text) {
  const box = $("toast");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(showToast.timer);
  showToast.timer = setTimeout(() => { box.hidden = true; }, 3000);
}

// --- formatting -----------------------------------------------------------------------------

const ALLOWED = new Set(["B", "STRONG", "I", "EM", "U", "INS", "S", "STRIKE", "DEL", "CODE", "PRE", "A",
  "BLOCKQUOTE", "TG-SPOILER", "SPAN"]);

// Copies the allowed part of parsed HTML into `out`; text is always text.
function copySafe(node, out) {
  for (const child of node.childNodes) {
    if (child.nodeType === Node.TEXT_NODE) {
      out.appendChild(document.createTextNode(child.textContent));
    } else if (child.nodeType === Node.ELEMENT_NODE) {
      const tag = child.tagName.toUpperCase();
      if (!ALLOWED.has(tag)) { copySafe(child, out); continue; }
      const el = document.createElement(tag === "TG-SPOILER" ? "span" : tag.toLowerCase());
      if (tag === "TG-SPOILER" || (tag === "SPAN" && child.classList.contains("tg-spoiler"))) el.className = "tg-spoiler";
      if (tag === "A") {
        const href = child.getAttribute("href") || "";
        if (/^(https?:|tg:)/i.test(href)) { el.href = href; el.target = "_blank"; el.rel = "noopener"; }
      }
      copySafe(child, el);
      out.appendChild(el);
    }
  }
}

function renderHtml(text, out) {
  // Telegram's HTML has no <br>: line breaks are newlines, kept by white-space: pre-wrap.
  const doc = new DOMParser().parseFromString("<body>" + text + "</body>", "text/html");
  copySafe(doc.body, out);
}

// MarkdownV2: *bold* _italic_ __underline__ ~strike~ `code` ```pre``` [text](url), \-escapes.
function renderMarkdown(text, out) {
  const esc = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  let html = "";
  const re = /```([\s\S]*?)```|`([^`]*)`|\*([^*]+)\*|__([^_]+)__|_([^_]+)_|~([^~]+)~|\|\|([^|]+)\|\||\[([^\]]+)\]\(([^)]+)\)|\\(.)|([\s\S])/g;
  let m;
  while ((m = re.exec(text)) !== null) {
    if (m[1] !== undefined) html += "<pre>" + esc(m[1].replace(/^\w*\n/, "")) + "</pre>";
    else if (m[2] !== undefined) html += "<code>" + esc(m[2]) + "</code>";
    else if (m[3] !== undefined) html += "<b>" + esc(m[3].replace(/\\(.)/g, "$1")) + "</b>";
    else if (m[4] !== undefined) html += "<u>" + esc(m[4].replace(/\\(.)/g, "$1")) + "</u>";
    else if (m[5] !== undefined) html += "<i>" + esc(m[5].replace(/\\(.)/g, "$1")) + "</i>";
    else if (m[6] !== undefined) html += "<s>" + esc(m[6].replace(/\\(.)/g, "$1")) + "</s>";
    else if (m[7] !== undefined) html += "<tg-spoiler>" + esc(m[7]) + "</tg-spoiler>";
    else if (m[8] !== undefined) html += '<a href="' + esc(m[9]).replace(/"/g, "&quot;") + '">' + esc(m[8]) + "</a>";
    else if (m[10] !== undefined) html += esc(m[10]);
    else html += esc(m[11]);
  }
  renderHtml(html, out);
}

function renderText(msg, out) {
  if (msg.parse_mode === "HTML") renderHtml(msg.text, out);
  else if (msg.parse_mode === "MarkdownV2" || msg.parse_mode === "Markdown") renderMarkdown(msg.text, out);
  else out.textContent = msg.text;
}

// --- messages -------------------------------------------------------------------------------

function plain(text) { return text.replace(/<[^>]*>/g, ""); }

function messageNode(msg) {
  const li = document.createElement("li");
  li.className = "msg" + (msg.is_bot ? " bot" : "") + (msg.from_id === state.user ? " mine" : "");
  li.dataset.id = msg.message_id;
  const bubble = document.createElement("div");
  bubble.className = "bubble";
  if (msg.from_id !== state.user) {
    const from = document.createElement("div");
    from.className = "from";
    from.textContent = msg.from_name;
    bubble.appendChild(from);
  }
  if (msg.reply_to_message_id) {
    const quoted = state.messages.get(msg.reply_to_message_id);
    const q = document.createElement("div");
    q.className = "quote";
    q.textContent = quoted ? quoted.from_name + ": " + plain(quoted.text) : "(a deleted message)";
    bubble.appendChild(q);
  }
  const text = document.createElement("div");
  text.className = "text";
  renderText(msg, text);
  bubble.appendChild(text);
  const rows = msg.reply_markup && msg.reply_markup.inline_keyboard;
  if (rows && rows.length) {
    const kb = document.createElement("div");
    kb.className = "kb";
    for (const row of rows) {
      const r = document.createElement("div");
      r.className = "kb-row";
      for (const b of row) {
        const btn = document.createElement("button");
        btn.type = "button";
        btn.textContent = b.text;
        if (b.url) {
          btn.addEventListener("click", (ev) => { ev.stopPropagation(); window.open(b.url, "_blank", "noopener"); });
        } else {
          btn.dataset.data = b.callback_data || "";
          btn.addEventListener("click", (ev) => { ev.stopPropagation(); press(msg.message_id, btn); });
        }
        r.appendChild(btn);
      }
      kb.appendChild(r);
    }
    bubble.appendChild(kb);
  }
  const meta = document.createElement("div");
  meta.className = "meta";
  const time = new Date(msg.date * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  meta.textContent = (msg.edits > 0 ? "edited " : "") + time;
  bubble.appendChild(meta);
  li.appendChild(bubble);
  li.addEventListener("click", () => setReply(msg));
  return li;
}

function upsert(msg) {
  state.messages.set(msg.message_id, msg);
  const list = $("messages");
  const node = messageNode(msg);
  const old = list.querySelector('li[data-id="' + msg.message_id + '"]');
  if (old) { old.replaceWith(node); return; }
  // Keep message-id order even if events arrive out of order.
  let before = null;
  for (const li of list.children) {
    if (Number(li.dataset.id) > msg.message_id) { before = li; break; }
  }
  const chat = $("chat");
  const atBottom = chat.scrollHeight - chat.scrollTop - chat.clientHeight < 80;
  list.insertBefore(node, before);
  if (atBottom || msg.from_id === state.user) chat.scrollTop = chat.scrollHeight;
}

function remove(id) {
  state.messages.delete(id);
  const old = $("messages").querySelector('li[data-id="' + id + '"]');
  if (old) old.remove();
}

async function loadTranscript() {
  $("messages").textContent = "";
  state.messages.clear();
  if (state.chat === null) return;
  const messages = await api("GET", "/chats/" + state.chat + "/messages");
  for (const m of messages) upsert(m);
  $("chat").scrollTop = $("chat").scrollHeight;
}

function setReply(msg) {
  state.replyTo = msg ? msg.message_id : null;
  $("reply-to").hidden = !msg;
  $("reply-to-text").textContent = msg ? "Reply to " + msg.from_name + ": " + plain(msg.text) : "";
  if (msg) $("composer-input").focus();
}

// --- actions --------------------------------------------------------------------------------

async function ensureMember() {
  const chat = state.chats.find((c) => c.id === state.chat);
  if (chat && chat.type === "group" && !chat.members.includes(state.user)) {
    await api("POST", "/chats/" + state.chat + "/members", { user_id: state.user });
    await refreshChats();
  }
}

async function send(text) {
  if (state.user === null || state.chat === null) throw new Error("Pick a user and a chat first.");
  await ensureMember();
  const body = { from: state.user, text };
  if (state.replyTo !== null) body.reply_to_message_id = state.replyTo;
  await api("POST", "/chats/" + state.chat + "/send", body);
  setReply(null);
}

async function press(messageId, btn) {
  try {
    await ensureMember();
    btn.disabled = true;
    await api("POST", "/chats/" + state.chat + "/press", { from: state.user, message_id: messageId, button: btn.dataset.data });
  } catch (e) {
    btn.disabled = false;
    showError(e);
  }
}

// --- users and chats ------------------------------------------------------------------------

function fillSelect(select, items, label, selected) {
  select.textContent = "";
  for (const item of items) {
    const o = document.createElement("option");
    o.value = item.id;
    o.textContent = label(item);
    if (item.id === selected) o.selected = true;
    select.appendChild(o);
  }
}

function visibleChats() {
  // Your private chat with AVA, and every group (pick one to join it).
  return state.chats.filter((c) => (c.type === "private" && c.id === state.user) || c.type === "group");
}

async function refreshChats() {
  state.chats = await api("GET", "/chats");
  const chats = visibleChats();
  if (!chats.some((c) => c.id === state.chat)) state.chat = chats.length ? chats[0].id : null;
  fillSelect($("chat-select"), chats, (c) => c.type === "private" ? "AVA (private)" : c.title + " (group, " + c.members.length + ")", state.chat);
  const chat = state.chats.find((c) => c.id === state.chat);
  $("chat-title").textContent = chat ? (chat.type === "private" ? "Private chat with AVA" : chat.title) : "Add a user to start";
  $("chat-hint").hidden = !(chat && chat.type === "group");
}

async function refreshUsers() {
  state.users = await api("GET", "/users");
  if (!state.users.some((u) => u.id === state.user)) state.user = state.users.length ? state.users[0].id : null;
  fillSelect($("user-select"), state.users, (u) => u.first_name + (u.username ? " (@" + u.username + ")" : ""), state.user);
}

function remember() {
  localStorage.setItem("ava-chat", JSON.stringify({ user: state.user, chat: state.chat }));
}

async function switchTo(user, chat) {
  state.user = user;
  state.chat = chat;
  await refreshUsers();
  await refreshChats();
  remember();
  await loadTranscript();
}

function follow() {
  const events = new EventSource(API + "/events");
  events.onmessage = (ev) => {
    const e = JSON.parse(ev.data);
    if (e.type === "resync") { loadTranscript().catch(showError); return; }
    if (e.type === "chat") { refreshUsers().then(refreshChats).catch(showError); return; }
    if (e.chat_id !== state.chat) return;
    if (e.type === "message" || e.type === "edit") upsert(e.message);
    else if (e.type === "delete") remove(e.message_id);
    else if (e.type === "toast") {
      document.querySelectorAll(".kb button:disabled").forEach((b) => { b.disabled = false; });
      if (e.user_id === state.user && e.text) showToast(e.text);
    } else if (e.type === "action") {
      $("typing").hidden = false;
      clearTimeout(follow.typing);
      follow.typing = setTimeout(() => { $("typing").hidden = true; }, 5000);
    }
    if (e.type === "message" && e.message.is_bot) $("typing").hidden = true;
  };
  // EventSource reconnects by itself; catch up on what was missed meanwhile.
  events.onopen = () => { if (state.chat !== null) loadTranscript().catch(showError); };
}

function wire() {
  $("user-select").addEventListener("change", (e) => switchTo(Number(e.target.value), state.chat).catch(showError));
  $("chat-select").addEventListener("change", (e) => switchTo(state.user, Number(e.target.value)).catch(showError));
  $("new-user").addEventListener("submit", async (e) => {
    e.preventDefault();
    const name = $("new-user-name").value.trim();
    if (!name) return;
    try {
      const user = await api("POST", "/users", { first_name: name });
      $("new-user-name").value = "";
      await switchTo(user.id, user.id);
    } catch (err) { showError(err); }
  });
  $("new-group").addEventListener("submit", async (e) => {
    e.preventDefault();
    const title = $("new-group-title").value.trim();
    if (!title) return;
    try {
      if (state.user === null) throw new Error("Add a user first.");
      const chat = await api("POST", "/chats", { type: "group", title, members: [state.user] });
      $("new-group-title").value = "";
      await switchTo(state.user, chat.id);
    } catch (err) { showError(err); }
  });
  $("reply-cancel").addEventListener("click", () => setReply(null));
  const input = $("composer-input");
  const submit = async () => {
    const text = input.value;
    if (!text.trim()) return;
    try {
      await send(text);
      input.value = "";
    } catch (err) { showError(err); }
  };
  $("composer").addEventListener("submit", (e) => { e.preventDefault(); submit(); });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); submit(); }
  });
}

async function main() {
  wire();
  follow();
  let saved = {};
  try { saved = JSON.parse(localStorage.getItem("ava-chat") || "{}"); } catch (_) { saved = {}; }
  await switchTo(saved.user ?? null, saved.chat ?? null);
}

main().catch(showError);
