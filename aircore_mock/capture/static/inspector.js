// The aircore-mock inspector: a hand-written script, no build step, no dependency.
// The list is virtual: only the rows in view exist, fetched a window at a time, so a page of
// 100,000 captures opens as fast as one of ten. Live updates come as server-sent events
// carrying the count; the page fetches only what it shows.
"use strict";

const ROW = 22;          // px: every row has this height (see .row in the CSS)
const PAGE = 200;        // rows fetched at once
const api = (path) => "api/" + path;
const $ = (id) => document.getElementById(id);

const state = {
  total: 0,              // rows matching the filters
  pages: new Map(),      // page number -> rows (or a promise of them)
  active: null,          // index of the active row
  open: null,            // the capture opened in the detail pane
  filters: "",           // query string of the filters
};

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child);
  return node;
}

async function getJSON(path) {
  const answer = await fetch(path, { headers: { accept: "application/json" } });
  if (!answer.ok) throw new Error((await answer.json()).error || answer.statusText);
  return answer.json();
}

function time(at) {
  const d = new Date(at * 1000);
  return d.toTimeString().slice(0, 8) + "." + String(d.getMilliseconds()).padStart(3, "0");
}

// --- the list ---------------------------------------------------------------------------

function fetchPage(number) {
  let page = state.pages.get(number);
  if (!page) {
    const query = `offset=${number * PAGE}&limit=${PAGE}${state.filters}`;
    page = getJSON(api("captures?" + query)).then((data) => {
      state.pages.set(number, data.rows);
      if (data.total !== state.total) setTotal(data.total);
      return data.rows;
    });
    state.pages.set(number, page);
  }
  return page;
}

function rowAt(index) {
  const page = state.pages.get(Math.floor(index / PAGE));
  return Array.isArray(page) ? page[index % PAGE] : undefined;
}

function setTotal(total) {
  state.total = total;
  $("spacer").style.height = total * ROW + "px";
  $("count").textContent = `${total} request${total === 1 ? "" : "s"}`;
}

function describe(row) {
  const parts = [`#${row.seq}`, time(row.at), row.method, String(row.status),
    (row.event || "-").padEnd(24), (row.recording || "-").padEnd(24)];
  return parts.join("  ");
}

function renderRow(index, row) {
  const node = el("div", {
    class: `row ${row.verdict}` + (index === state.active ? " active" : ""),
    role: "option", id: `row-${index}`, "data-index": index, "data-seq": row.seq,
    "aria-selected": String(index === state.active),
  });
  node.style.top = index * ROW + "px";
  node.append(describe(row) + "  ", el("span", { class: "verdict", text: row.verdict }));
  if (row.problem) node.append(`: ${row.problem}` + (row.problems > 1 ? ` (+${row.problems - 1})` : ""));
  if (row.out_of_order) node.append(el("span", { class: "flag", text: "[out of order]" }));
  if (row.duplicate) node.append(el("span", { class: "flag", text: "[duplicate]" }));
  if (row.app) {
    const text = row.app.status === null ? `app failed: ${row.app.error}` : `app ${row.app.status} ${row.app.ms} ms`;
    node.append(el("span", { class: "app", text: "→ " + text }));
  }
  return node;
}

let drawing = false;
function draw() {
  if (drawing) return;
  drawing = true;
  requestAnimationFrame(async () => {
    drawing = false;
    const view = $("viewport");
    const first = Math.max(0, Math.floor(view.scrollTop / ROW) - 5);
    const last = Math.min(state.total, first + Math.ceil(view.clientHeight / ROW) + 10);
    const wanted = new Set();
    for (let p = Math.floor(first / PAGE); p <= Math.floor(Math.max(first, last - 1) / PAGE); p++) wanted.add(p);
    const missing = [...wanted].filter((p) => !Array.isArray(state.pages.get(p)));
    if (missing.length && state.total) {
      await Promise.all(missing.map(fetchPage));
      draw();
      return;
    }
    for (const node of [...view.querySelectorAll(".row")]) node.remove();
    const fragment = document.createDocumentFragment();
    for (let i = first; i < last; i++) {
      const row = rowAt(i);
      if (row) fragment.append(renderRow(i, row));
    }
    view.append(fragment);
    if (state.active !== null) view.setAttribute("aria-activedescendant", `row-${state.active}`);
  });
}

function reload() {
  state.pages.clear();
  return fetchPage(0).then(() => draw());
}

function atBottom() {
  const view = $("viewport");
  return view.scrollTop + view.clientHeight >= view.scrollHeight - ROW * 2;
}

function grown(count) {
  // New captures: with no filter the count says it all; with filters, ask again.
  const follow = $("follow").checked && (atBottom() || state.active === null);
  const last = Math.floor(Math.max(0, state.total - 1) / PAGE);
  state.pages.delete(last);
  if (state.filters) {
    state.pages.clear();
    fetchPage(Math.floor(Math.max(0, state.total - 1) / PAGE)).then(() => after(follow));
  } else {
    if (count < state.total) state.pages.clear();  // the receiver was reset
    setTotal(count);
    after(follow);
  }
  refreshRecordings();
}

function after(follow) {
  if (follow) $("viewport").scrollTop = $("viewport").scrollHeight;
  draw();
}

function move(to) {
  if (!state.total) return;
  state.active = Math.max(0, Math.min(state.total - 1, to));
  const view = $("viewport");
  const top = state.active * ROW;
  if (top < view.scrollTop) view.scrollTop = top;
  else if (top + ROW > view.scrollTop + view.clientHeight) view.scrollTop = top + ROW - view.clientHeight;
  draw();
}

async function openIndex(index) {
  let row = rowAt(index);
  if (!row) row = (await fetchPage(Math.floor(index / PAGE)))[index % PAGE];
  if (row) openCapture(row.seq);
}

// --- recordings as timelines ------------------------------------------------------------

const SHORT = {
  "recording-started": "started", "recording-stopped": "stopped",
  "recording-uploaded": "uploaded", "recording-upload-failed": "upload-failed",
};
let recordingsShown = 50;
let recordingsDue = null;

function refreshRecordings() {
  if (recordingsDue) return;
  recordingsDue = setTimeout(async () => {
    recordingsDue = null;
    await loadRecordings();
  }, 1000);
}

async function loadRecordings() {
  const data = await getJSON(api(`recordings?offset=0&limit=${Math.min(recordingsShown, 500)}`));
  const list = $("timelines");
  list.replaceChildren();
  for (const recording of data.rows) {
    const item = el("li", {}, el("span", { class: "rid", text: recording.recording, title: recording.url }));
    const hidden = recording.count - recording.callbacks.length;
    if (hidden > 0) item.append(el("span", { class: "flag", text: `+${hidden} earlier ` }));
    for (const step of recording.callbacks) {
      const flagged = step.out_of_order || step.duplicate;
      const label = (SHORT[step.event] || step.event) + (step.out_of_order ? " ↯" : "") + (step.duplicate ? " ×2" : "");
      const chip = el("button", {
        type: "button", class: `chip ${step.verdict}` + (flagged ? " flagged" : ""),
        title: `#${step.seq} ${step.event} ${step.verdict} at ${time(step.at)}` +
          (step.out_of_order ? ", out of order" : "") + (step.duplicate ? ", duplicate" : ""),
        "data-seq": step.seq, text: label,
      });
      chip.addEventListener("click", () => openCapture(step.seq));
      item.append(chip);
    }
    list.append(item);
  }
  $("more-recordings").hidden = data.total <= data.rows.length;
}

// --- one capture ------------------------------------------------------------------------

function showTab(name) {
  for (const tab of document.querySelectorAll("[role=tab]")) {
    const on = tab.id === "tab-" + name;
    tab.setAttribute("aria-selected", String(on));
    tab.tabIndex = on ? 0 : -1;
    $(tab.getAttribute("aria-controls")).hidden = !on;
  }
}

async function openCapture(seq) {
  const data = await getJSON(api("captures/" + seq));
  state.open = data;
  $("detail").hidden = false;
  $("detail-title").textContent = `Request #${data.seq}: ${data.event || data.method + " " + data.path}`;
  $("summary").textContent = `${time(data.received_at)}  ${data.method} ${data.path}  answered ${data.status}  ` +
    `recording ${data.recording || "-"}  verdict ${data.verdict}` +
    (data.out_of_order ? "  [out of order]" : "") + (data.duplicate ? "  [duplicate]" : "");
  $("summary").className = data.verdict;
  $("problems").replaceChildren(...data.problems.map((p) => el("li", { text: `${p.path}: ${p.message}` })),
    ...data.undocumented.map((u) => el("li", { text: `undocumented: ${u}` })));
  const app = data.forwarded;
  $("app").textContent = app ? (app.status === null ? `The app did not answer: ${app.error}` :
    `The app answered ${app.status} in ${app.latency_ms} ms: ${app.text}`) : "";
  const rows = Object.entries(data.headers).map(([k, v]) => el("tr", {}, el("td", { text: k }), el("td", { text: v })));
  $("headers").tBodies[0].replaceChildren(...rows);
  $("pretty").textContent = data.pretty === null ? "(not JSON)" : data.pretty;
  $("raw").textContent = data.text;
  $("curl").textContent = data.curl;
  $("diff-against").value = data.previous === null ? "" : data.previous;
  $("diff").replaceChildren();
  $("diff-note").textContent = data.previous === null ? "the first of its recording: pick another" : `against #${data.previous}, the recording's previous callback`;
  if (data.previous !== null) diffAgainst(data.previous);
  $("replay-url").value = data.forward_to || $("replay-url").value;
  $("replay-body").value = data.text;
  $("replay-result").textContent = "";
}

function closeDetail() {
  $("detail").hidden = true;
  state.open = null;
  $("viewport").focus();
}

function lines(capture) {
  return (capture.pretty === null ? capture.text : capture.pretty).split("\n");
}

// A line diff (longest common subsequence), enough for two callbacks of a few dozen lines.
function diffLines(a, b) {
  const n = a.length, m = b.length;
  if (n * m > 4e6) return [[" ", "(too large to diff)"]];
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const out = [];
  let i = 0, j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) { out.push([" ", a[i]]); i++; j++; }
    else if (lcs[i + 1][j] >= lcs[i][j + 1]) out.push(["-", a[i++]]);
    else out.push(["+", b[j++]]);
  }
  while (i < n) out.push(["-", a[i++]]);
  while (j < m) out.push(["+", b[j++]]);
  return out;
}

async function diffAgainst(seq) {
  const current = state.open;
  if (!current) return;
  let other;
  try {
    other = await getJSON(api("captures/" + seq));
  } catch (error) {
    $("diff-note").textContent = String(error.message || error);
    return;
  }
  $("diff-note").textContent = `#${other.seq} (−) → #${current.seq} (+)`;
  const out = diffLines(lines(other), lines(current)).map(([mark, text]) =>
    el("span", { class: mark === "+" ? "add" : mark === "-" ? "del" : "same", text: `${mark} ${text}\n` }));
  $("diff").replaceChildren(...out);
}

// The opened request against another, picked in the list (Shift+click, or `d` on the
// active row).
function pickForDiff(seq) {
  $("diff-against").value = seq;
  showTab("diff");
  diffAgainst(seq);
}

async function replay() {
  const current = state.open;
  if (!current) return;
  const request = { seq: current.seq, url: $("replay-url").value.trim() || null };
  if ($("replay-body").value !== current.text) request.body = $("replay-body").value;
  $("replay-result").textContent = "sending…";
  const answer = await fetch(api("replay"), {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(request),
  });
  const data = await answer.json();
  $("replay-result").textContent = !answer.ok ? `refused: ${data.error}` : data.error
    ? `no answer from ${data.url}: ${data.error}`
    : `${data.url} answered ${data.status} in ${data.latency_ms} ms${data.edited ? " (edited body)" : ""}\n${data.body}`;
}

// --- wiring -----------------------------------------------------------------------------

function connect() {
  const events = new EventSource(api("events"));
  events.onopen = () => { $("live").textContent = "live"; $("live").className = "on"; };
  events.onerror = () => { $("live").textContent = "reconnecting"; $("live").className = "off"; };
  events.onmessage = (message) => {
    const data = JSON.parse(message.data);
    if (state.filters || data.count !== state.total) grown(data.count);
  };
}

function readFilters() {
  const form = new FormData($("filters"));
  let query = "";
  for (const name of ["event", "verdict", "flag", "recording"]) {
    const value = (form.get(name) || "").trim();
    if (value) query += `&${name}=${encodeURIComponent(value)}`;
  }
  state.filters = query;
  state.active = null;
  reload();
}

document.addEventListener("DOMContentLoaded", () => {
  const view = $("viewport");
  view.addEventListener("scroll", draw);
  window.addEventListener("resize", draw);
  view.addEventListener("click", (event) => {
    const row = event.target.closest(".row");
    if (!row) return;
    state.active = Number(row.dataset.index);
    draw();
    if (event.shiftKey && state.open) pickForDiff(Number(row.dataset.seq));
    else openCapture(Number(row.dataset.seq));
  });
  view.addEventListener("keydown", (event) => {
    const page = Math.floor(view.clientHeight / ROW);
    const at = state.active === null ? -1 : state.active;
    const keys = {
      ArrowDown: () => move(at + 1), j: () => move(at + 1), ArrowUp: () => move(at - 1), k: () => move(at - 1),
      PageDown: () => move(at + page), PageUp: () => move(at - page), Home: () => move(0),
      End: () => move(state.total - 1), Enter: () => state.active !== null && openIndex(state.active),
      d: () => state.active !== null && state.open && rowAt(state.active) && pickForDiff(rowAt(state.active).seq),
    };
    if (keys[event.key]) { event.preventDefault(); keys[event.key](); }
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !$("detail").hidden) closeDetail();
  });
  $("close").addEventListener("click", closeDetail);
  for (const tab of document.querySelectorAll("[role=tab]")) {
    tab.addEventListener("click", () => showTab(tab.id.slice(4)));
    tab.addEventListener("keydown", (event) => {
      const tabs = [...document.querySelectorAll("[role=tab]")];
      const i = tabs.indexOf(tab);
      const to = event.key === "ArrowRight" ? tabs[(i + 1) % tabs.length] : event.key === "ArrowLeft" ? tabs[(i + tabs.length - 1) % tabs.length] : null;
      if (to) { event.preventDefault(); to.focus(); to.click(); }
    });
  }
  $("diff-go").addEventListener("click", () => diffAgainst(Number($("diff-against").value)));
  $("copy-curl").addEventListener("click", () => navigator.clipboard && navigator.clipboard.writeText($("curl").textContent));
  $("replay-go").addEventListener("click", replay);
  $("more-recordings").addEventListener("click", () => { recordingsShown += 50; loadRecordings(); });
  $("filters").addEventListener("change", readFilters);
  $("filters").addEventListener("submit", (event) => { event.preventDefault(); readFilters(); });
  showTab("headers");
  // The list first (the first screen), then the timelines and the live updates.
  reload().then(() => { if ($("follow").checked) after(true); }).finally(() => {
    loadRecordings();
    connect();
  });
});
