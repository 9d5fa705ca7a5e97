// The control page of `aircore-mock serve`: polls the control API every second and posts the
// controls as JSON to the same origin (the server refuses any other). No build step, no library.
"use strict";
(function () {
  const BASE = "/_aircore-mock/";
  const $ = (selector) => document.querySelector(selector);
  let last = { index: "", recordings: "", journal: "" };

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "class") node.className = value;
      else if (key.startsWith("data-")) node.setAttribute(key, value);
      else node[key] = value;
    }
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  async function get(path) {
    const answer = await fetch(BASE + path, { headers: { accept: "application/json" } });
    if (!answer.ok) throw new Error(`${path}: ${answer.status}`);
    return answer.text();
  }

  async function post(path, body) {
    const answer = await fetch(BASE + path, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(body || {}),
    });
    const text = await answer.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
    if (!answer.ok) throw new Error((data && data.message) || `answered ${answer.status}`);
    return data;
  }

  function say(text, bad) {
    const result = $("#result");
    result.textContent = text;
    result.classList.toggle("bad", !!bad);
  }

  async function act(what, path, body) {
    try {
      const data = await post(path, body);
      say(what(data), false);
    } catch (error) {
      say(`refused: ${error.message}`, true);
    }
    await refresh();
  }

  // --- rendering -------------------------------------------------------------------------

  function time(ms) {
    return typeof ms === "number" ? new Date(ms).toISOString().replace("T", " ").replace("Z", "") : "";
  }

  function renderIndex(index) {
    $("#clock").textContent = `clock ${index.clock}: ${time(index.now)}`;
    const list = $("#injections");
    list.replaceChildren(...index.injections.map((i) => el("li", {},
      `${i.what} for ${i.recording || "the next"}` +
      (i.what === "stop" ? ` (${i.reason}, after ${i.after} s)` : "") +
      (i.what === "upload-failure" ? ` (${i.family})` : "") +
      (i.what === "error" ? ` (${i.status})` : ""))));
    if (!index.injections.length) list.append(el("li", {}, "none"));
  }

  function delivery(callback) {
    const d = callback.delivery;
    if (!d) return el("span", { class: "pending" }, "pending");
    const ok = d.outcome === "delivered";
    const text = `${d.outcome}` + (d.status !== null ? ` ${d.status}` : "") +
      `, ${d.latency_ms} ms, ${d.attempts} attempt${d.attempts === 1 ? "" : "s"}` +
      (d.error ? `: ${d.error}` : "");
    return el("span", { class: ok ? "delivered" : "failed" }, text);
  }

  function renderRecordings(recordings) {
    $("#count").textContent = `${recordings.length} recording${recordings.length === 1 ? "" : "s"}`;
    const focused = document.activeElement && document.activeElement.dataset
      ? document.activeElement.dataset.recording : undefined;
    const items = recordings.map((r) => {
      const facts = [r.stop_reason && `stopped: ${r.stop_reason}`,
        r.upload && `upload: ${r.upload}`, r.failure_family && `failure: ${r.failure_family}`,
        r.address && `at ${r.address}`].filter(Boolean).join(", ");
      const stop = r.state === "started"
        ? el("button", { type: "button", class: "stop", "data-recording": r.id,
          ariaLabel: `Stop recording ${r.id}` }, "Stop") : null;
      const callbacks = el("ol", { class: "callbacks" }, ...r.callbacks.map((c) =>
        el("li", { "data-event": c.event }, `${c.event} → `, delivery(c))));
      return el("li", { "data-recording": r.id },
        el("span", { class: "rid" }, r.id), " ",
        el("span", { class: `state ${r.state}` }, r.state), " ", stop,
        el("div", {}, `channel ${r.channel_id}, user ${r.user_id}` + (facts ? `; ${facts}` : "")),
        el("div", { class: "rid" }, `callbacks to ${r.callback_url || "(none)"}`),
        callbacks);
    });
    $("#recordings").replaceChildren(...items);
    if (focused) {
      const again = document.querySelector(`button.stop[data-recording="${CSS.escape(focused)}"]`);
      if (again) again.focus();
    }
    const select = $("#inject-recording");
    const chosen = select.value;
    const first = select.options[0];
    select.replaceChildren(first, ...recordings.map((r) =>
      el("option", { value: r.id }, `${r.id} (${r.state})`)));
    select.value = recordings.some((r) => r.id === chosen) ? chosen : "";
  }

  function renderJournal(journal) {
    const rows = journal.slice(-200).reverse().map((e) =>
      el("tr", { class: e.status >= 400 ? "error" : "" },
        el("td", {}, String(e.seq)), el("td", {}, time(e.at)),
        el("td", {}, `${e.method} ${e.path}`), el("td", {}, String(e.status)),
        el("td", {}, e.error || "")));
    $("#journal tbody").replaceChildren(...rows);
  }

  async function refresh() {
    try {
      const [index, recordings, journal] = await Promise.all(
        [get(""), get("recordings"), get("journal")]);
      if (index !== last.index) renderIndex(JSON.parse(index));
      if (recordings !== last.recordings) renderRecordings(JSON.parse(recordings));
      if (journal !== last.journal) renderJournal(JSON.parse(journal));
      last = { index, recordings, journal };
      $("#live").textContent = "live";
      $("#live").className = "on";
    } catch (error) {
      $("#live").textContent = "disconnected";
      $("#live").className = "off";
    }
  }

  // --- controls --------------------------------------------------------------------------

  function showFields() {
    const what = $("#inject-what").value;
    for (const label of document.querySelectorAll("#inject-form [data-for]")) {
      label.hidden = label.dataset.for !== what;
    }
  }

  async function choices() {
    const data = JSON.parse(await get("choices"));
    $("#inject-reason").replaceChildren(...data.stop_reasons.map((r) =>
      el("option", { value: r, selected: r === "allPublishersLeft" }, r)));
    $("#inject-family").replaceChildren(...data.failure_families.map((f) =>
      el("option", { value: f }, f)));
  }

  $("#recordings").addEventListener("click", (event) => {
    const button = event.target.closest("button.stop");
    if (!button) return;
    const id = button.dataset.recording;
    act(() => `stopped ${id} (clientStopped)`, "stop", { recording: id });
  });

  $("#advance-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const seconds = Number($("#advance-seconds").value);
    act((d) => `advanced ${seconds} s: ${d.steps} step${d.steps === 1 ? "" : "s"} ran`,
      "advance", { seconds });
  });

  $("#inject-what").addEventListener("change", showFields);
  $("#inject-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const what = $("#inject-what").value;
    const body = { what };
    const recording = $("#inject-recording").value;
    if (recording) body.recording = recording;
    if (what === "stop") {
      body.reason = $("#inject-reason").value;
      body.after = Number($("#inject-after").value);
    } else if (what === "upload-failure") {
      body.family = $("#inject-family").value;
    } else {
      body.status = Number($("#inject-status").value);
    }
    act((i) => `injected ${i.what} for ${i.recording || "the next"}`, "inject", body);
  });

  $("#reset").addEventListener("click", () => act(() => "reset: no recordings, no journal", "reset"));

  showFields();
  choices().catch(() => say("could not load the choices", true));
  refresh();
  setInterval(refresh, 1000);
})();
