// kotae chat page: plain JavaScript, no build step.
// Talks to POST /v1/chat/completions (stream: true) and GET /v1/documents[/{id}].
"use strict";

const STRINGS = {
  en: {
    tagline: "answers from your documents, with sources",
    newChat: "New chat",
    placeholder: "Ask a question in English or Japanese…",
    send: "Send",
    footnote: "Answers quote your documents; click a [n] to see the source.",
    welcomeTitle: "Ask your documents",
    welcomeDocs: (n, p) => `${n} documents indexed (${p} passages).`,
    welcomeHint: "Every answer cites its sources as [1], [2]… Click one to read the passage where it comes from.",
    sources: "Sources",
    passage: "Source passage",
    document: "Document",
    section: "Section",
    page: "Page",
    docId: "File",
    chars: "Characters",
    score: "Score",
    openDocument: "Open the whole document here",
    backToPassage: "Back to the passage",
    openNewTab: "Open in a new tab",
    close: "Close",
    thinking: "Searching the documents…",
    notFound: "Not found in the documents",
    error: "Something went wrong",
    keyNeeded: "This server needs an API key.",
    keyPlaceholder: "API key",
    keyStatus: "API key needed",
    save: "Save",
    ready: (n) => `${n} docs`,
    loading: "loading…",
    offline: "offline",
    you: "You",
    kotae: "kotae",
    warning: "Note",
    highlighted: "The highlighted sentence is the one the answer relies on.",
    badDocId: "This link does not name a document.",
  },
  ja: {
    tagline: "資料にもとづいて、出典つきで答えます",
    newChat: "新しい会話",
    placeholder: "日本語または英語で質問してください…",
    send: "送信",
    footnote: "回答は資料からの引用です。[n] をクリックすると出典を表示します。",
    welcomeTitle: "資料に質問する",
    welcomeDocs: (n, p) => `${n} 件の文書（${p} パッセージ）を検索できます。`,
    welcomeHint: "回答には [1]、[2]… の形で出典が付きます。番号をクリックすると、根拠となった箇所を読めます。",
    sources: "出典",
    passage: "出典パッセージ",
    document: "文書",
    section: "セクション",
    page: "ページ",
    docId: "ファイル",
    chars: "文字数",
    score: "スコア",
    openDocument: "文書全体をこの位置で開く",
    backToPassage: "パッセージに戻る",
    openNewTab: "新しいタブで開く",
    close: "閉じる",
    thinking: "資料を検索しています…",
    notFound: "資料に見つかりませんでした",
    error: "エラーが発生しました",
    keyNeeded: "このサーバーには API キーが必要です。",
    keyPlaceholder: "API キー",
    keyStatus: "API キーが必要",
    save: "保存",
    ready: (n) => `${n} 件の文書`,
    loading: "読み込み中…",
    offline: "オフライン",
    you: "あなた",
    kotae: "kotae",
    warning: "注意",
    highlighted: "強調表示された文が、回答の根拠となった文です。",
    badDocId: "このリンクは文書を指していません。",
  },
};

function pickLang() {
  const forced = new URLSearchParams(location.search).get("lang");
  if (forced && STRINGS[forced]) return forced;
  const langs = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || "en"];
  for (const l of langs) {
    const base = String(l).toLowerCase().split("-")[0];
    if (STRINGS[base]) return base;
  }
  return "en";
}

const LANG = pickLang();
const T = STRINGS[LANG];
const $ = (id) => document.getElementById(id);
const state = { history: [], busy: false, docs: null, key: localStorage.getItem("kotae.apiKey") || "" };

function applyStrings() {
  document.documentElement.lang = LANG;
  document.querySelectorAll("[data-i18n]").forEach((el) => { const v = T[el.dataset.i18n]; if (typeof v === "string") el.textContent = v; });
  document.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = T[el.dataset.i18nPlaceholder]; });
  document.querySelectorAll("[data-i18n-title]").forEach((el) => { el.title = T[el.dataset.i18nTitle]; });
}

function headers(extra = {}) {
  const h = { ...extra };
  if (state.key) h["Authorization"] = `Bearer ${state.key}`;
  return h;
}

async function api(path, options = {}) {
  const r = await fetch(path, { ...options, headers: headers(options.headers || {}) });
  if (r.status === 401) { $("key-banner").classList.remove("hidden"); }
  if (!r.ok) {
    let message = `HTTP ${r.status}`;
    try { const body = await r.json(); message = (body.error && body.error.message) || message; } catch (_) { /* not JSON */ }
    const err = new Error(message); err.status = r.status; throw err;
  }
  return r;
}

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

// --- answer rendering ---------------------------------------------------------------------

const SOURCES_RE = /\n\n\*\*(Sources|出典)\*\*\n[\s\S]*$/;

function inline(text, citations) {
  let html = escapeHtml(text)
    .replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>")
    .replace(/`([^`]+)`/g, "<code>$1</code>");
  html = html.replace(/\[(\d{1,3})\]/g, (m, n) => {
    const known = citations && citations.some((c) => c.citation === Number(n));
    if (!citations) return `<span class="cite pending">${n}</span>`;
    return known ? `<button type="button" class="cite" data-testid="cite-link" data-n="${n}" aria-label="source ${n}">${n}</button>` : m;
  });
  return html;
}

function renderMarkdown(text, citations) {
  const blocks = text.trim().split(/\n{2,}/);
  return blocks.map((block) => {
    const lines = block.split("\n");
    if (lines.every((l) => /^\s*([-*•]|\d+\.)\s+/.test(l))) {
      return "<ul>" + lines.map((l) => `<li>${inline(l.replace(/^\s*([-*•]|\d+\.)\s+/, ""), citations)}</li>`).join("") + "</ul>";
    }
    const heading = block.match(/^#{1,4}\s+(.*)$/);
    if (heading && lines.length === 1) return `<h3>${inline(heading[1], citations)}</h3>`;
    return `<p>${lines.map((l) => inline(l, citations)).join("<br>")}</p>`;
  }).join("");
}

function whereLabel(c) {
  const parts = [];
  if (c.section) parts.push(c.section);
  if (c.page) parts.push(LANG === "ja" ? `${c.page}ページ` : `p. ${c.page}`);
  return parts.join(" · ");
}

function renderSources(citations) {
  if (!citations || !citations.length) return "";
  const items = citations.map((c) => `
    <li><button type="button" class="source-card" data-n="${c.citation}" data-testid="source-card">
      <span class="num">${c.citation}</span>
      <span class="src-text"><span class="src-title">${escapeHtml(c.title || c.doc_id)}</span>
      <span class="src-where">${escapeHtml(whereLabel(c) || c.doc_id)}</span></span>
    </button></li>`).join("");
  return `<div class="sources"><div class="sources-head">${escapeHtml(T.sources)}</div><ol>${items}</ol></div>`;
}

const USER_ICON = '<svg viewBox="0 0 24 24" width="18" height="18"><path fill="currentColor" d="M12 12a4.5 4.5 0 1 0 0-9 4.5 4.5 0 0 0 0 9Zm0 2c-4.4 0-8 2.2-8 5v2h16v-2c0-2.8-3.6-5-8-5Z"/></svg>';

function addMessage(role, html, extraClass = "") {
  $("welcome")?.remove();
  const el = document.createElement("div");
  el.className = `msg ${role} ${extraClass}`;
  el.dataset.testid = `message-${role}`;
  el.innerHTML = `<div class="avatar" aria-hidden="true">${role === "user" ? USER_ICON : "答"}</div><div class="bubble"><div class="who">${role === "user" ? T.you : T.kotae}</div><div class="content">${html}</div></div>`;
  $("messages").appendChild(el);
  el.scrollIntoView({ block: "end", behavior: "smooth" });
  return el;
}

function finishAnswer(el, text, final) {
  const body = text.replace(SOURCES_RE, "");
  const citations = final.citations || [];
  el.querySelector(".content").innerHTML = renderMarkdown(body, citations) + renderSources(citations)
    + (final.warning ? `<div class="warning"><strong>${escapeHtml(T.warning)}:</strong> ${escapeHtml(final.warning)}</div>` : "");
  el.classList.remove("streaming");
  if (final.found === false) el.classList.add("not-found");
  el.dataset.found = String(final.found !== false);
  el._citations = citations;
  el.querySelectorAll("[data-n]").forEach((b) => b.addEventListener("click", () => {
    const c = citations.find((x) => x.citation === Number(b.dataset.n));
    if (c) { showPassage(c); markActive(el, c.citation); }
  }));
}

function markActive(el, n) {
  document.querySelectorAll(".cite.active, .source-card.active").forEach((b) => b.classList.remove("active"));
  el.querySelectorAll(`[data-n="${n}"]`).forEach((b) => b.classList.add("active"));
}

// --- asking -------------------------------------------------------------------------------

async function ask(question) {
  if (state.busy || !question.trim()) return;
  state.busy = true;
  $("send").disabled = true;
  addMessage("user", `<p>${escapeHtml(question)}</p>`);
  const el = addMessage("assistant", `<p class="thinking"><span class="dots"><i></i><i></i><i></i></span> ${escapeHtml(T.thinking)}</p>`, "streaming");
  const messages = [...state.history, { role: "user", content: question }];
  let text = "";
  let final = {};
  try {
    const r = await api("/v1/chat/completions", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "text/event-stream" },
      body: JSON.stringify({ model: "kotae", stream: true, messages }),
    });
    const reader = r.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const event = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        for (const line of event.split("\n")) {
          if (!line.startsWith("data:")) continue;
          const data = line.slice(5).trim();
          if (data === "[DONE]") continue;
          const chunk = JSON.parse(data);
          if (chunk.error) throw new Error(chunk.error.message || T.error);  // the server's error event
          const choice = chunk.choices && chunk.choices[0];
          if (choice && choice.delta && choice.delta.content) {
            text += choice.delta.content;
            el.querySelector(".content").innerHTML = renderMarkdown(text.replace(SOURCES_RE, ""), null) + '<span class="caret"></span>';
          }
          if (choice && choice.finish_reason) final = chunk;
        }
      }
    }
    finishAnswer(el, text, final);
    state.history.push({ role: "user", content: question }, { role: "assistant", content: text });
  } catch (err) {
    el.classList.remove("streaming");
    el.classList.add("error");
    el.querySelector(".content").innerHTML = `<p><strong>${escapeHtml(T.error)}</strong>: ${escapeHtml(err.message)}</p>`;
  } finally {
    state.busy = false;
    $("send").disabled = false;
    $("question").focus();
  }
}

// --- source panel and document view --------------------------------------------------------

function openPanel() {
  $("panel").classList.remove("hidden");
  document.body.classList.add("panel-open");
}

function closePanel() {
  $("panel").classList.add("hidden");
  document.body.classList.remove("panel-open");
  if (location.hash.startsWith("#doc=")) history.replaceState(null, "", location.pathname + location.search);
}

function metaRows(rows) {
  return rows.filter(([, v]) => v !== null && v !== undefined && v !== "")
    .map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join("");
}

function showPassage(c) {
  const [s, e] = c.highlight || [0, 0];
  const sentence = cpSlice(c.text, s, e);
  $("panel-badge").textContent = `[${c.citation}] ${T.passage}`;
  $("panel-doc-title").textContent = c.title || c.doc_id;
  $("panel-meta").innerHTML = metaRows([[T.section, c.section], [T.page, c.page], [T.docId, c.doc_id], [T.score, c.score != null ? c.score.toFixed(4) : null]]);
  const hs = cpToUnit(c.text, s), he = hs + sentence.length;
  const body = renderRich(c.text, [{ start: hs, end: he, cls: "sentence", attrs: 'data-testid="highlight"' }]);
  $("panel-body").innerHTML = `<div class="passage" data-testid="passage-text">${body}</div><p class="hint" data-testid="passage-hint">${escapeHtml(T.highlighted)}</p>`;
  $("panel-actions").innerHTML = `<button type="button" class="primary" id="open-doc" data-testid="open-document">${escapeHtml(T.openDocument)}</button>`;
  $("open-doc").addEventListener("click", () => showDocument(c.doc_id, c.char_start, c.char_end, sentence, c));
  openPanel();
}

function squeeze(s) {
  // Drop white space and Markdown markup, remembering where each kept character was.
  const chars = [], map = [];
  for (let i = 0; i < s.length; i++) {
    if (/[\s*_\\|#`>~]/.test(s[i])) continue;
    chars.push(s[i]);
    map.push(i);
  }
  return { text: chars.join(""), map };
}

function locate(span, sentence) {
  const a = squeeze(span), b = squeeze(sentence).text;
  if (!b) return null;
  let i = a.text.indexOf(b), len = b.length;
  if (i < 0) {
    const prefix = b.slice(0, 24);
    i = a.text.indexOf(prefix);
    if (i < 0) return null;
    len = Math.min(b.length, a.text.length - i);
  }
  return [a.map[i], a.map[i + len - 1] + 1];
}

function cpSlice(text, s, e) {
  return Array.from(text).slice(s, e).join("");
}

function cpToUnit(text, cp) {
  // A code point offset (Python's) as a UTF-16 index (JavaScript's).
  return Array.from(text).slice(0, cp).join("").length;
}

function renderDocText(text) {
  // Form feeds separate PDF pages: show them as page rules.
  return escapeHtml(text).replace(/\f/g, '<hr class="page-break">');
}

// A document id is a relative path: no empty, "." or ".." segment, nothing hidden. Anything
// else (a crafted link such as #doc=../../readyz) would make the browser resolve the URL to
// another API path, so it is refused before any request is made.
function documentUrl(docId) {
  if (typeof docId !== "string" || !docId || docId.length > 1024) return null;
  const segments = docId.split("/");
  if (segments.some((s) => !s || s === "." || s === ".." || s.startsWith(".") || /[\\\u0000-\u001f]/.test(s))) return null;
  return "/v1/documents/" + segments.map(encodeURIComponent).join("/");
}

// --- text with marks, Markdown tables rendered as tables ------------------------------------
// Marks are {start, end, cls, attrs} in UTF-16 indices of the whole text. Every character keeps
// its place: a table cell shows text[cellStart:cellEnd], so a mark covers exactly the characters
// it covers in the source; only the table's pipes and its |---| row are not shown. A mark split
// over several cells or runs gets its attributes (id, data-testid) on its first part only.

const TABLE_ROW = /^[ \t]*\|.*\|[ \t]*$/;
const TABLE_SEPARATOR = /^[ \t]*\|?[ \t]*:?-+:?[ \t]*(\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$/;

function textBlocks(text) {
  // [{table: false, a, b}] runs of text and [{table: true, a, b, rows}] tables of 2+ rows.
  const lines = [];
  const lineEnd = /[\n\f]/g;
  for (let a = 0; a <= text.length;) {
    lineEnd.lastIndex = a;
    const m = lineEnd.exec(text);
    const b = m ? m.index : text.length;
    lines.push([a, b]);
    a = b + 1;
  }
  const blocks = [];
  let i = 0, textStart = 0;
  while (i < lines.length) {
    let j = i;
    while (j < lines.length && TABLE_ROW.test(text.slice(lines[j][0], lines[j][1]))) j++;
    if (j - i >= 2) {
      if (lines[i][0] > textStart) blocks.push({ table: false, a: textStart, b: lines[i][0] });
      const rows = lines.slice(i, j).map(([a, b]) => ({ a, b, sep: TABLE_SEPARATOR.test(text.slice(a, b)) }));
      const end = Math.min(lines[j - 1][1] + 1, text.length);  // the last row's line break belongs to the table
      blocks.push({ table: true, a: lines[i][0], b: end, rows, header: rows.length > 1 && rows[1].sep });
      textStart = end;
      i = j;
    } else {
      i = Math.max(j, i + 1);
    }
  }
  if (textStart < text.length) blocks.push({ table: false, a: textStart, b: text.length });
  return blocks;
}

function cellRanges(text, a, b) {
  const pipes = [];
  for (let k = a; k < b; k++) if (text[k] === "|" && text[k - 1] !== "\\") pipes.push(k);
  const cells = [];
  for (let k = 0; k + 1 < pipes.length; k++) {
    let s = pipes[k] + 1, e = pipes[k + 1];
    while (s < e && /\s/.test(text[s])) s++;
    while (e > s && /\s/.test(text[e - 1])) e--;
    cells.push([s, e]);
  }
  return cells;
}

function renderRange(text, a, b, marks) {
  const cuts = new Set([a, b]);
  for (const m of marks) for (const x of [m.start, m.end]) if (x > a && x < b) cuts.add(x);
  const points = [...cuts].sort((x, y) => x - y);
  let html = "";
  for (let k = 0; k + 1 < points.length; k++) {
    const [x, y] = [points[k], points[k + 1]];
    const active = marks.filter((m) => m.start < y && m.end > x);
    let run = renderDocText(text.slice(x, y));
    for (const m of active.slice().reverse()) {
      const attrs = m.placed ? "" : " " + (m.attrs || "");
      m.placed = true;
      run = `<mark class="${m.cls}"${attrs.trimEnd()}>${run}</mark>`;
    }
    html += run;
  }
  return html;
}

function renderRich(text, marks) {
  // Outer marks first, so that nested marks (the sentence inside the passage) wrap inside.
  marks = marks.map((m) => ({ ...m, placed: false })).sort((x, y) => x.start - y.start || y.end - x.end);
  return textBlocks(text).map((block) => {
    if (!block.table) return renderRange(text, block.a, block.b, marks);
    const rows = block.rows.filter((r) => !r.sep).map((r, k) => {
      const tag = block.header && k === 0 ? "th" : "td";
      return "<tr>" + cellRanges(text, r.a, r.b).map(([s, e]) => `<${tag}>${renderRange(text, s, e, marks)}</${tag}>`).join("") + "</tr>";
    });
    return `<div class="table-wrap"><table class="md-table">${rows.join("")}</table></div>`;
  }).join("");
}

async function showDocument(docId, start, end, sentence, fromCitation) {
  openPanel();
  $("panel-body").innerHTML = `<p class="thinking">${escapeHtml(T.loading)}</p>`;
  const url = documentUrl(docId);
  let doc;
  try {
    if (!url) throw new Error(T.badDocId);
    doc = await (await api(url)).json();
    if (!doc || typeof doc.text !== "string") throw new Error(T.badDocId);
  } catch (err) {
    $("panel-body").innerHTML = `<p class="error-text">${escapeHtml(err.message)}</p>`;
    return;
  }
  // Offsets count Unicode code points (Python); JavaScript strings count UTF-16 units.
  const cps = Array.from(doc.text);
  start = Math.max(0, Math.min(start || 0, cps.length));
  end = Math.max(start, Math.min(end || start, cps.length));
  const u0 = cps.slice(0, start).join("").length, u1 = u0 + cps.slice(start, end).join("").length;
  // The passage text shown to users has Markdown and layout noise removed: find the sentence in the original.
  const found = sentence ? locate(doc.text.slice(u0, u1), sentence) : null;
  const marks = [{ start: u0, end: u1, cls: "passage-span", attrs: 'id="doc-anchor"' + (found ? "" : ' data-testid="doc-highlight"') }];
  if (found) marks.push({ start: u0 + found[0], end: u0 + found[1], cls: "sentence", attrs: 'data-testid="doc-highlight"' });
  const html = renderRich(doc.text, marks);
  $("panel-badge").textContent = T.document;
  $("panel-doc-title").textContent = doc.title || doc.doc_id;
  const page = fromCitation && fromCitation.page;
  $("panel-meta").innerHTML = metaRows([[T.docId, doc.doc_id], [T.section, fromCitation && fromCitation.section], [T.page, page], [T.chars, doc.chars.toLocaleString()]]);
  $("panel-body").innerHTML = `<div class="document" data-testid="document-text">${html}</div>`;
  const link = location.pathname + location.search + `#doc=${encodeURIComponent(doc.doc_id)}&start=${start}&end=${end}` + (sentence ? `&sentence=${encodeURIComponent(sentence.slice(0, 200))}` : "");
  $("panel-actions").innerHTML = (fromCitation ? `<button type="button" class="ghost" id="back-passage">${escapeHtml(T.backToPassage)}</button>` : "")
    + `<a class="ghost button" href="${escapeHtml(link)}" target="_blank" rel="noopener">${escapeHtml(T.openNewTab)} ↗</a>`;
  if (fromCitation) $("back-passage").addEventListener("click", () => showPassage(fromCitation));
  const anchor = $("panel-body").querySelector("mark.sentence") || $("doc-anchor");
  if (anchor) requestAnimationFrame(() => anchor.scrollIntoView({ block: "center" }));
}

function openFromHash() {
  if (!location.hash.startsWith("#doc=")) return;
  const p = new URLSearchParams(location.hash.slice(1));
  showDocument(p.get("doc"), Number(p.get("start")), Number(p.get("end")), p.get("sentence") || "", null);
}

// --- start --------------------------------------------------------------------------------

async function loadStatus() {
  try {
    const r = await fetch("/readyz");
    const s = await r.json();
    if (s.status !== "ready") { $("status").textContent = T.loading; setTimeout(loadStatus, 2000); return; }
    $("status").textContent = T.ready(s.documents);
    $("status").className = "status ok";
    $("welcome-docs") && ($("welcome-docs").textContent = T.welcomeDocs(s.documents, s.passages));
    const docs = await (await api("/v1/documents")).json();
    const list = $("doc-list");
    if (list) list.innerHTML = docs.documents.slice(0, 8).map((d) => `<li><span class="doc-kind">${escapeHtml(d.kind)}</span>${escapeHtml(d.title)}</li>`).join("");
  } catch (err) {
    // A 401 means the server is up and waits for the key (the banner asks for it).
    const locked = err.status === 401;
    $("status").textContent = locked ? T.keyStatus : T.offline;
    $("status").className = locked ? "status warn" : "status bad";
  }
}

function autosize() {
  const q = $("question");
  q.style.height = "auto";
  q.style.height = Math.min(q.scrollHeight, 200) + "px";
}

document.addEventListener("DOMContentLoaded", () => {
  applyStrings();
  $("composer").addEventListener("submit", (e) => {
    e.preventDefault();
    const q = $("question").value;
    $("question").value = "";
    autosize();
    ask(q);
  });
  $("question").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); $("composer").requestSubmit(); }
  });
  $("question").addEventListener("input", autosize);
  $("panel-close").addEventListener("click", closePanel);
  $("new-chat").addEventListener("click", () => { location.hash = ""; location.reload(); });
  $("key-form").addEventListener("submit", (e) => {
    e.preventDefault();
    state.key = $("key-input").value.trim();
    localStorage.setItem("kotae.apiKey", state.key);
    $("key-banner").classList.add("hidden");
    loadStatus();
  });
  document.addEventListener("keydown", (e) => { if (e.key === "Escape") closePanel(); });
  window.addEventListener("hashchange", openFromHash);
  loadStatus();
  openFromHash();
  $("question").focus();
});
