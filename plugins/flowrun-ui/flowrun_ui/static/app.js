// flowrun ui: live updates (Server-Sent Events from /events) and JSON requests for the
// buttons and forms. Plain JavaScript, no build step, nothing from the internet.
"use strict";

const DATA = JSON.parse(document.getElementById("page-data").textContent || "{}");

function el(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function badge(status) {
  return el("span", { class: "badge st-" + status }, status);
}

function say(text, bad) {
  const box = document.getElementById("message");
  if (!box) return;
  box.textContent = text;
  box.className = "message" + (bad ? " bad" : "");
}

async function post(url, body) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body || {}),
    credentials: "same-origin",
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(answer.error || response.statusText);
  return answer;
}

function seconds(value) {
  if (value === null || value === undefined) return "-";
  return value < 120 ? value.toFixed(2) + "s" : (value / 60).toFixed(1) + "min";
}

function counts(values) {
  const parts = Object.keys(values || {}).sort().map((k) => values[k] + " " + k);
  return parts.length ? parts.join(", ") : "-";
}

function runLink(id) {
  return el("a", { href: "/runs/" + encodeURIComponent(id) }, id);
}

function flowLink(id) {
  return el("a", { href: "/flows/" + encodeURIComponent(id) }, id);
}

// -- the runs page ------------------------------------------------------------------

function runRow(run) {
  const row = el("tr", { "data-run-id": run.id, "data-status": run.status });
  const cells = [runLink(run.id), flowLink(run.flow_id), badge(run.status),
    el("time", { datetime: run.started || "" }, (run.started || "-").slice(0, 19).replace("T", " ")),
    document.createTextNode(seconds(run.duration)), document.createTextNode(run.partition || ""),
    document.createTextNode(Object.keys(run.counts || {}).length || !run.error
      ? counts(run.counts) : "not started: " + run.error)];
  const classes = ["", "", "status", "", "duration", "", "counts"];
  cells.forEach((content, i) => {
    const td = el("td", classes[i] ? { class: classes[i] } : {});
    td.appendChild(content);
    row.appendChild(td);
  });
  return row;
}

function onRunForList(run) {
  if (DATA.flow && run.flow_id !== DATA.flow) return;
  const body = document.querySelector("#runs tbody");
  if (!body) return;
  const old = body.querySelector(`tr[data-run-id="${CSS.escape(run.id)}"]`);
  const fresh = runRow(run);
  if (DATA.status && run.status !== DATA.status) {
    if (old) old.remove();
    return;
  }
  if (old) old.replaceWith(fresh);
  else body.insertBefore(fresh, body.firstChild);
  const empty = document.querySelector(".empty");
  if (empty) empty.remove();
}

// -- the run page ---------------------------------------------------------------------

let reloading = false;

function reloadSoon(delay) {
  if (reloading) return;
  reloading = true;
  setTimeout(() => window.location.reload(), delay);
}

// For a collapsed node without a row of its own: the first status any instance has.
const PRECEDENCE = ["failed", "running", "pending", "cancelled", "skipped", "succeeded", "cached"];

function colour(taskId, status) {
  const node = document.querySelector(`g.node[data-task-id="${CSS.escape(taskId)}"]`);
  if (!node) return false;
  node.setAttribute("data-status", status);
  node.setAttribute("class", "node st-" + status);
  return true;
}

function onTaskForRun(task) {
  if (task.run_id !== DATA.run_id) return;
  refreshSoon(500);
  if (!DATA.tasks) reloadSoon(1000); // drawn before its first task: draw the tasks
  if (colour(task.task_id, task.status)) return;
  const group = task.task_id.replace(/\[\d+\]/g, "");
  const members = (DATA.members || {})[group];
  if (!members) return; // a node with a row of its own gets its own events
  members[task.task_id] = task.status;
  const present = new Set(Object.values(members));
  colour(group, PRECEDENCE.find((s) => present.has(s)) || "pending");
}

function onRunForRun(run) {
  if (run.id !== DATA.run_id) return;
  if (run.status !== DATA.status) {
    DATA.status = run.status;
    // a finished run: draw it again from the store (timeline, attempts, counts)
    reloadSoon(300);
  }
}

// A task's output opens on its last lines (never a whole big log); the whole of it
// downloads as text; a level filter narrows the log records; a search runs on the server.
const TAIL = 200;
const LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"];

function logsUrl(taskId, extra) {
  return `/api/v1/runs/${encodeURIComponent(DATA.run_id)}/logs?task=${encodeURIComponent(taskId)}` + (extra || "");
}

async function getJson(url) {
  const response = await fetch(url, { credentials: "same-origin" });
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.error || response.statusText);
  return answer;
}

// Log records start with their level; the lines after one belong to it.
function filterLevel(text, least) {
  const floor = LEVELS.indexOf(least);
  let keep = true;
  return text.split("\n").filter((line) => {
    const level = LEVELS.indexOf(line.split(/\s/, 1)[0]);
    if (level >= 0) keep = level >= floor;
    return keep;
  }).join("\n");
}

function logTools(details, box) {
  const taskId = details.dataset.taskId;
  const tools = el("div", { class: "log-tools" });
  const level = el("select", { "aria-label": "least log level shown" });
  for (const name of LEVELS) level.appendChild(el("option", { value: name }, name + " and up"));
  const query = el("input", { type: "search", placeholder: "search this task's output", "aria-label": "search this task's output" });
  const results = el("div", { class: "log-results", role: "status" });
  const txt = `/api/v1/runs/${encodeURIComponent(DATA.run_id)}/logs.txt?task=${encodeURIComponent(taskId)}`;
  tools.append(el("label", {}, "level "), level, query,
    el("a", { href: txt, download: "" }, "download the whole log"));
  level.addEventListener("change", () => {
    for (const pre of box.querySelectorAll("pre.log")) pre.textContent = filterLevel(pre.dataset.text, level.value);
  });
  query.addEventListener("keydown", async (event) => {
    if (event.key !== "Enter") return;
    results.replaceChildren();
    if (!query.value) return;
    try {
      const found = await getJson(logsUrl(taskId, "&context=2&q=" + encodeURIComponent(query.value)));
      results.appendChild(el("p", { class: "muted" }, `${found.length} matching line(s)`));
      for (const hit of found) {
        results.appendChild(el("div", { class: "stream" }, `attempt ${hit.attempt} ${hit.stream} line ${hit.line_number}`));
        const pre = el("pre", { class: "match" });
        pre.append(hit.before.join("\n") + (hit.before.length ? "\n" : ""), el("mark", {}, hit.line),
          (hit.after.length ? "\n" : "") + hit.after.join("\n"));
        results.appendChild(pre);
      }
    } catch (error) {
      results.appendChild(el("p", { class: "error" }, String(error.message || error)));
    }
  });
  box.prepend(tools, results);  // above the output: found lines come first
}

async function loadOutput(details, again) {
  const box = details.querySelector(".output");
  if (!box || (box.dataset.loaded === "yes" && !again)) return;
  box.dataset.loaded = "yes";
  try {
    const entries = await getJson(logsUrl(details.dataset.taskId, "&tail=" + TAIL));
    box.replaceChildren();
    let any = false;
    for (const entry of entries) {
      for (const stream of ["stdout", "stderr", "log"]) {
        if (!entry[stream]) continue;
        any = true;
        const total = entry.lines[stream];
        const cut = total > TAIL ? ` (the last ${TAIL} of ${total} lines)` : "";
        box.appendChild(el("div", { class: "stream" }, `attempt ${entry.attempt} ${stream}${cut}`));
        const pre = el("pre", { class: stream, tabindex: "0" }, entry[stream]);
        pre.dataset.text = entry[stream];
        box.appendChild(pre);
      }
    }
    if (any) logTools(details, box);
    else box.appendChild(el("p", { class: "muted" }, "No captured output."));
    for (const pre of box.querySelectorAll("pre")) pre.scrollTop = pre.scrollHeight;
  } catch (error) {
    box.appendChild(el("p", { class: "error" }, String(error.message || error)));
  }
}

function bindTasks() {
  for (const details of document.querySelectorAll("details.task")) {
    details.addEventListener("toggle", () => details.open && loadOutput(details));
  }
}

// A running run: its rows, timeline and facts drawn again from the server every few
// seconds and after task events (open rows stay open, their output re-read).
let refreshing = null;

function refreshSoon(delay) {
  if (refreshing || DATA.status !== "running") return;
  refreshing = setTimeout(refreshParts, delay);
}

// A running task's last lines of output, under its name (the store has what it printed
// so far); kept across refreshes so they never blink.
const LIVE_LINES = 3;
const tails = new Map();

async function fillTails() {
  for (const span of document.querySelectorAll(".live-tail[data-task-id]")) {
    const taskId = span.dataset.taskId;
    if (tails.has(taskId)) span.textContent = tails.get(taskId);
    try {
      const entries = await getJson(logsUrl(taskId, "&tail=" + LIVE_LINES));
      const last = entries[entries.length - 1];
      if (!last) continue;
      const text = (last.stdout + last.stderr).split("\n").filter((l) => l).slice(-LIVE_LINES).join("\n");
      tails.set(taskId, text);
      span.textContent = text;
    } catch (error) {
      // the task may have just ended: the next refresh shows its row as it ended
    }
  }
}

async function refreshParts() {
  try {
    const response = await fetch(window.location.pathname, { credentials: "same-origin" });
    if (!response.ok) return;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    const open = new Set([...document.querySelectorAll("details.task[open]")].map((d) => d.dataset.taskId));
    for (const part of ["#timeline", ".tasks", "dl.facts"]) {
      const old = document.querySelector(part), now = fresh.querySelector(part);
      if (old && now) old.replaceWith(now);
    }
    bindTasks();
    for (const details of document.querySelectorAll("details.task")) {
      if (open.has(details.dataset.taskId)) details.open = true;
    }
    fillTails();
  } finally {
    refreshing = null;
    refreshSoon(3000);
  }
}

function tick() {
  for (const span of document.querySelectorAll(".elapsed[data-since]")) {
    const since = Date.parse(span.dataset.since);
    const s = Math.max(0, (Date.now() - since) / 1000);
    if (!Number.isNaN(since)) span.textContent = s < 120 ? Math.floor(s) + " s" : (s / 60).toFixed(1) + " min";
  }
}

// Rerun buttons (the run's and each task's): a new run reusing every other success.
async function rerun(button) {
  button.disabled = true;
  try {
    const body = { tasks: JSON.parse(button.dataset.rerun), downstream: button.dataset.downstream === "true" };
    const answer = await post(`/api/v1/runs/${encodeURIComponent(DATA.run_id)}/rerun`, body);
    window.location.href = "/runs/" + encodeURIComponent(answer.run_id);
  } catch (error) {
    say(error.message, true);
    button.disabled = false;
  }
}

function runPage() {
  bindTasks();
  fillTails();
  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-rerun]");
    if (button) rerun(button);
  });
  setInterval(tick, 1000);
  refreshSoon(3000);
  for (const button of document.querySelectorAll("button[data-action]")) {
    button.addEventListener("click", async () => {
      const action = button.dataset.action;
      button.disabled = true;
      try {
        const answer = await post(`/api/v1/runs/${encodeURIComponent(DATA.run_id)}/${action}`, {});
        if (action === "resume") window.location.href = "/runs/" + encodeURIComponent(answer.run_id);
        else say("interrupting…");
      } catch (error) {
        say(error.message, true);
        button.disabled = false;
      }
    });
  }
}

// -- the graph: fits its box, pans (drag, arrow keys) and zooms (wheel, + and -) ------

function graphBox(box) {
  const svg = box.querySelector("svg.graph");
  if (!svg) return;
  const natural = svg.viewBox.baseVal;
  const full = { w: natural.width, h: natural.height };
  box.style.height = Math.max(120, Math.min(full.h + 4, window.innerHeight * 0.7)) + "px";
  svg.removeAttribute("width");
  svg.removeAttribute("height");
  let view = null;
  function show() {
    if (view) svg.setAttribute("viewBox", `${view.x} ${view.y} ${view.w} ${view.h}`);
  }
  function fit() {
    if (!box.clientWidth || !box.clientHeight || !full.w || !full.h) return;
    const scale = Math.min(1, box.clientWidth / full.w, box.clientHeight / full.h);
    const w = box.clientWidth / scale, h = box.clientHeight / scale;
    view = { x: (full.w - w) / 2, y: (full.h - h) / 2, w, h };
    show();
  }
  function zoom(factor) {
    if (!view) return;
    const cx = view.x + view.w / 2, cy = view.y + view.h / 2;
    view.w /= factor; view.h /= factor;
    view.x = cx - view.w / 2; view.y = cy - view.h / 2;
    show();
  }
  function pan(dx, dy) {
    if (!view) return;
    view.x += dx * view.w / box.clientWidth; view.y += dy * view.h / box.clientHeight;
    show();
  }
  fit();
  window.addEventListener("resize", fit);
  for (const button of box.querySelectorAll("button.zoom")) {
    button.addEventListener("click", () => {
      const how = button.dataset.zoom;
      if (how === "fit") fit(); else zoom(how === "in" ? 1.25 : 0.8);
    });
  }
  box.addEventListener("wheel", (event) => { event.preventDefault(); zoom(event.deltaY < 0 ? 1.1 : 0.9); }, { passive: false });
  box.addEventListener("keydown", (event) => {
    if (event.target !== box) return;
    const step = { ArrowLeft: [-40, 0], ArrowRight: [40, 0], ArrowUp: [0, -40], ArrowDown: [0, 40] }[event.key];
    if (step) { event.preventDefault(); pan(step[0], step[1]); }
    else if (event.key === "+" || event.key === "=") zoom(1.25);
    else if (event.key === "-") zoom(0.8);
    else if (event.key === "0") fit();
  });
  let drag = null;
  box.addEventListener("pointerdown", (event) => {
    if (event.target.closest("a, button")) return;
    drag = { x: event.clientX, y: event.clientY };
    box.setPointerCapture(event.pointerId);
  });
  box.addEventListener("pointermove", (event) => {
    if (!drag) return;
    pan(drag.x - event.clientX, drag.y - event.clientY);
    drag = { x: event.clientX, y: event.clientY };
  });
  box.addEventListener("pointerup", () => { drag = null; });
}

// A task's row from a link (#task-...): open it; a folded node opens its first instance.
function openTask() {
  const id = decodeURIComponent(window.location.hash.slice(1));
  if (!id.startsWith("task-")) return;
  let row = document.getElementById(id);
  if (!row) {
    const node = document.querySelector(`g.node a[href="#${CSS.escape(id)}"]`);
    const group = node && node.closest("g.node").dataset.taskId;
    const rows = [...document.querySelectorAll("details.task")].filter(
      (d) => group && d.dataset.taskId.replace(/\[\d+\]/g, "") === group);
    row = rows.find((d) => d.dataset.status === "failed") || rows[0];
  }
  if (!row) return;
  row.open = true;
  row.scrollIntoView({ block: "start" });
  row.querySelector("summary").focus();
}

// -- the flow and partitions pages -----------------------------------------------------

function formParams(form) {
  const params = {};
  let partition = null;
  for (const input of form.querySelectorAll("input, select, textarea")) {
    if (input.name === "partition") { partition = input.value || null; continue; }
    const kind = input.dataset.type;
    if (!kind) continue;
    if (kind === "bool") params[input.name] = input.checked;
    else if (kind === "int") params[input.name] = parseInt(input.value, 10);
    else if (kind === "float") params[input.name] = parseFloat(input.value);
    else if (kind === "list" || kind === "dict") params[input.name] = JSON.parse(input.value);
    else params[input.name] = input.value;
  }
  return { params, partition };
}

function flowPage() {
  const form = document.getElementById("run-form");
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const body = formParams(form);
      if (body.partition === null) delete body.partition;
      const answer = await post(`/api/v1/flows/${encodeURIComponent(DATA.flow_id)}/runs`, body);
      window.location.href = "/runs/" + encodeURIComponent(answer.run_id);
    } catch (error) {
      say(error.message, true);
    }
  });
}

function partitionsPage() {
  const form = document.getElementById("backfill-form");
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { start: form.start.value, end: form.end.value };
    if (form.only.value) body.only = form.only.value;
    try {
      const answer = await post(`/api/v1/flows/${encodeURIComponent(DATA.flow_id)}/backfill`, body);
      say(answer.run_ids.length ? `started ${answer.run_ids.length} run(s)` : "nothing to backfill");
      if (answer.run_ids.length) setTimeout(() => window.location.reload(), 1500);
    } catch (error) {
      say(error.message, true);
    }
  });
}

// -- live updates -------------------------------------------------------------------------

function listen() {
  const live = document.getElementById("live");
  const source = new EventSource("/events");
  const words = live && live.querySelector(".live-text");
  if (live) live.hidden = false;
  source.onopen = () => {
    if (live) live.classList.add("on");
    if (words) words.textContent = "live";
    // what changed between drawing the page and listening
    if (DATA.page === "run" && DATA.status === "running") {
      fetch(`/api/v1/runs/${encodeURIComponent(DATA.run_id)}`, { credentials: "same-origin" })
        .then((response) => (response.ok ? response.json() : null))
        .then((run) => run && onRunForRun(run))
        .catch(() => {});
    }
  };
  source.onerror = () => {
    if (live) live.classList.remove("on");
    if (words) words.textContent = "offline";
  };
  source.addEventListener("run", (event) => {
    const run = JSON.parse(event.data);
    if (DATA.page === "runs") onRunForList(run);
    if (DATA.page === "run") onRunForRun(run);
  });
  source.addEventListener("task", (event) => {
    if (DATA.page === "run") onTaskForRun(JSON.parse(event.data));
  });
  window.addEventListener("beforeunload", () => source.close());
}

for (const box of document.querySelectorAll(".graph-box")) graphBox(box);
if (DATA.page === "run") {
  runPage();
  window.addEventListener("hashchange", openTask);
  openTask();
}
// Pause / Unpause on the schedules page: kept in the store, so --due skips the flow.
function schedulesPage() {
  for (const button of document.querySelectorAll("button[data-pause]")) {
    button.addEventListener("click", async () => {
      const action = button.dataset.pause === "true" ? "pause" : "unpause";
      button.disabled = true;
      try {
        await post(`/api/v1/flows/${encodeURIComponent(button.dataset.flowId)}/${action}`, {});
        window.location.reload();
      } catch (error) {
        say(error.message, true);
        button.disabled = false;
      }
    });
  }
}

if (DATA.page === "flow") flowPage();
if (DATA.page === "schedules") schedulesPage();
if (DATA.page === "partitions") partitionsPage();
if (DATA.page === "runs" || DATA.page === "run") listen();
