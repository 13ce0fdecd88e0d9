r"""The page `serve` shows: one self-contained HTML document (no script, style or font from
anywhere else, so it works offline), kept in a Python string so that every install carries it
without package data.

It asks `/api/model` for the model's card and the upload limits, then sends each chosen or
dropped file, one at a time in the order given, as the body of `POST /api/score?name=...`, and
draws each answer: the decision in a coloured badge, the score, the LLR in words where the model
is calibrated, the warnings, and the timeline (an SVG: the waveform with each window shaded by
its decision, and the windows' scores, or LLRs, as steps under it, with the decision threshold
where it is on that scale). An error becomes a message in the file's place and the page goes
on. "Download results (JSON)" saves the rows scored so far with the model's metadata, as
`detect --format json` writes them.

Stable hooks for the browser test: `#files` (the file input), `article.result` with
`data-name` and `data-state` (waiting, scoring, done, failed), `.decision[data-decision]`,
`svg.timeline` with one `rect.segment` per window, `.error`, `#download`, `#status`.
"""

PAGE = r"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>antispoof: check a recording</title>
<style>
  :root { --bona: #2e7d32; --spoof: #c62828; --none: #757575; --ink: #1f2933;
          --muted: #5f6b76; --line: #d9dee3; }
  body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink);
         max-width: 980px; margin: 0 auto; padding: 16px 20px 40px; }
  h1 { font-size: 24px; margin: 4px 0 2px; }
  h2 { font-size: 18px; margin: 0 0 6px; }
  h3 { font-size: 16px; margin: 0 0 4px; overflow-wrap: anywhere; }
  .muted { color: var(--muted); }
  section, article { border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px;
                     margin: 12px 0; }
  .limits { background: #fff8e1; border: 1px solid #ffe082; border-radius: 6px;
            padding: 8px 12px; margin: 8px 0; }
  .limits h3 { font-size: 15px; }
  .limits ul { margin: 4px 0 0; padding-left: 20px; }
  pre { white-space: pre-wrap; font-size: 13px; background: #f5f7f9; padding: 8px;
        border-radius: 6px; margin: 6px 0 0; }
  #drop { display: block; border: 2px dashed #9aa5b1; border-radius: 8px; text-align: center;
          padding: 22px; margin: 12px 0; cursor: pointer; }
  #drop.over { background: #eef6ff; border-color: #1565c0; }
  #drop input { display: none; }
  #drop .choose { color: #1565c0; text-decoration: underline; }
  .actions { display: flex; gap: 12px; align-items: center; }
  button { font: inherit; padding: 6px 12px; border-radius: 6px; border: 1px solid #9aa5b1;
           background: #fff; cursor: pointer; }
  button:disabled { color: #9aa5b1; cursor: default; }
  .decision { display: inline-block; color: #fff; font-weight: 600; border-radius: 4px;
              padding: 1px 8px; margin-right: 6px; background: var(--none); }
  .decision[data-decision="bonafide"] { background: var(--bona); }
  .decision[data-decision="spoof"] { background: var(--spoof); }
  .error { color: var(--spoof); font-weight: 600; overflow-wrap: anywhere; }
  .warnings { color: #8d6e00; margin: 4px 0; padding-left: 20px; }
  svg.timeline { width: 100%; height: auto; display: block; margin-top: 8px; }
  svg.timeline text { font: 11px system-ui, sans-serif; fill: var(--muted); }
  .legend { font-size: 13px; color: var(--muted); }
  .legend span::before { content: ""; display: inline-block; width: 10px; height: 10px;
                         margin: 0 4px 0 10px; background: var(--c); }
  table { border-collapse: collapse; font-size: 13px; margin-top: 6px; }
  td, th { padding: 2px 10px; text-align: right; border-bottom: 1px solid var(--line); }
</style>
</head>
<body>
<h1>Check a recording</h1>
<p class="muted">antispoof on this computer: recordings are scored here and sent nowhere else;
each upload is deleted once it is scored.</p>

<section id="model">
  <h2>Model: <span id="model-name">loading...</span></h2>
  <p id="model-description" class="muted"></p>
  <p id="model-decision"></p>
  <div class="limits"><h3>What this model cannot tell</h3><ul id="model-limits"></ul></div>
  <details open><summary>Model card: training data, licence, published figures</summary>
    <pre id="model-card"></pre></details>
</section>

<label id="drop" for="files">
  <input type="file" id="files" multiple accept="audio/*,.wav,.flac,.ogg,.mp3,.aiff,.au">
  <strong>Drop audio files here</strong> or <span class="choose">choose files</span><br>
  <span class="muted" id="upload-limits"></span>
</label>

<div class="actions">
  <button id="download" disabled>Download results (JSON)</button>
  <span id="status" class="muted">ready</span>
</div>

<div id="results"></div>

<script>
"use strict";
const COLOURS = { bonafide: "#2e7d32", spoof: "#c62828" };
const GREY = "#757575";
const MEANING = {
  bonafide: "the model takes it for a genuine recording of a person",
  spoof: "the model takes it for synthetic or converted speech",
  "no-speech": "too little speech to judge: the score is no verdict on a voice",
  "too-short": "too short to judge",
};
const state = { model: null, rows: [], queue: Promise.resolve(), waiting: 0, done: 0 };

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  for (const child of children) node.append(child);
  return node;
}

function svg(tag, attrs, ...children) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  for (const child of children) node.append(child);
  return node;
}

const megabytes = (size) => (size >= 1048576 ? (size / 1048576).toFixed(1) + " MB"
                                               : (size / 1024).toFixed(0) + " kB");
const fixed = (value, digits) => (value === null || value === undefined ? "-" :
                                  value.toFixed(digits));
const colour = (decision) => COLOURS[decision] || GREY;

async function loadModel() {
  const response = await fetch("/api/model");
  state.model = await response.json();
  const card = state.model.card;
  document.getElementById("model-name").textContent = card.name;
  document.getElementById("model-description").textContent = card.description;
  document.getElementById("model-decision").textContent = card.decision;
  document.getElementById("model-card").textContent = card.card;
  const limits = document.getElementById("model-limits");
  for (const limit of card.limits) limits.append(el("li", {}, limit));
  const caps = state.model.limits;
  document.getElementById("upload-limits").textContent =
    `Any format detect reads (WAV, FLAC, Ogg, MP3, ...), up to ${megabytes(caps.max_bytes)} ` +
    `and ${caps.max_seconds} s a file; longer ones: python -m antispoof.bin.detect.`;
}

function updateStatus() {
  const status = document.getElementById("status");
  status.textContent = state.waiting ? `scoring: ${state.waiting} file(s) to go` : "ready";
}

function addFiles(files) {
  for (const file of files) {
    const card = el("article", { class: "result", "data-name": file.name,
                                 "data-state": "waiting" },
                    el("h3", {}, file.name), el("p", { class: "muted" }, "waiting..."));
    document.getElementById("results").append(card);
    state.waiting += 1;
    updateStatus();
    state.queue = state.queue.then(() => upload(file, card)).catch((err) => {
      fail(card, `${file.name}: ${err}`);
    }).finally(() => { state.waiting -= 1; updateStatus(); });
  }
}

function fail(card, message) {
  card.dataset.state = "failed";
  card.replaceChildren(el("h3", {}, card.dataset.name), el("p", { class: "error" }, message));
}

async function upload(file, card) {
  card.dataset.state = "scoring";
  card.querySelector("p").textContent = "scoring...";
  const caps = state.model.limits;
  if (file.size > caps.max_bytes) {
    fail(card, `${file.name}: ${megabytes(file.size)} is more than the page's limit of ` +
               `${megabytes(caps.max_bytes)} (serve --max_mb)`);
    return;
  }
  let response;
  try {
    response = await fetch("/api/score?name=" + encodeURIComponent(file.name), {
      method: "POST", body: file, headers: { "Content-Type": "application/octet-stream" } });
  } catch (err) {
    fail(card, `${file.name}: the server did not answer (${err.message})`);
    return;
  }
  const answer = await response.json().catch(() => null);
  if (!response.ok || !answer || !answer.result) {
    fail(card, answer && answer.error ? answer.error
                                      : `${file.name}: the server answered ${response.status}`);
    return;
  }
  show(card, answer.result, answer.view);
  state.rows.push(answer.result);
  document.getElementById("download").disabled = false;
}

function show(card, result, view) {
  const metadata = state.model.metadata;
  const decision = result.decision;
  const badge = el("span", { class: "decision", "data-decision": decision || "none" },
                   decision || "no decision");
  const meaning = decision ? MEANING[decision] : "this model has no decision rule";
  const speech = result.speech === null ? "" : `, ${result.speech.toFixed(1)} s of speech`;
  const facts = `score ${fixed(result.score, 3)} (higher = more bona fide) · ` +
    `${result.duration.toFixed(1)} s${speech} · ${result.segments.length} window(s) of ` +
    `${metadata.window_seconds.toFixed(2)} s`;
  const odds = view.llr_words ||
    "No odds: this model is not calibrated, so its score is not a likelihood ratio.";
  const parts = [el("h3", {}, result.path),
                 el("p", { class: "verdict" }, badge, meaning),
                 el("p", { class: "facts muted" }, facts),
                 el("p", { class: "llr" }, odds)];
  if (result.warnings.length) {
    parts.push(el("ul", { class: "warnings" },
                  ...result.warnings.map((warning) => el("li", {}, warning))));
  }
  parts.push(timeline(result, view.envelope, metadata.decision_rule));
  parts.push(el("div", { class: "legend" },
                el("span", { style: `--c: ${COLOURS.bonafide}` }, "bona fide"),
                el("span", { style: `--c: ${COLOURS.spoof}` }, "spoof"),
                el("span", { style: `--c: ${GREY}` }, "no speech / no decision"),
                ` · answered by ${metadata.model} (weights sha256 ` +
                `${metadata.weights_sha256.slice(0, 12)}...)`));
  parts.push(windowsTable(result));
  card.replaceChildren(...parts);
  card.dataset.state = "done";
}

function niceStep(duration) {
  for (const step of [0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600]) {
    if (duration / step <= 10) return step;
  }
  return 1200;
}

function timeline(result, envelope, rule) {
  const W = 1000, LEFT = 44, WAVE = 80, GAP = 10, PLOT = 90, AXIS = 20;
  const H = WAVE + GAP + PLOT + AXIS;
  const segments = result.segments;
  const duration = result.duration || Math.max(1e-3, ...segments.map((s) => s.end));
  const x = (t) => LEFT + (t / duration) * (W - LEFT);
  const root = svg("svg", { class: "timeline", viewBox: `0 0 ${W} ${H}`,
                            role: "img", "aria-label": `timeline of ${result.path}` });
  const onLlr = segments.some((s) => s.llr !== null);
  const value = (s) => (onLlr ? s.llr : s.score);
  for (const s of segments) {
    root.append(svg("rect", { class: "segment", "data-decision": s.decision || "none",
                              x: x(s.start), y: 0, width: Math.max(1, x(s.end) - x(s.start)),
                              height: WAVE, fill: colour(s.decision), "fill-opacity": 0.16 },
      svg("title", {}, `${s.start.toFixed(2)}-${s.end.toFixed(2)} s: ` +
                       `${onLlr ? "LLR" : "score"} ${fixed(value(s), 3)}, ` +
                       `${s.decision || "no decision"}`)));
  }
  const peak = Math.max(1e-6, ...envelope);
  const middle = WAVE / 2;
  let path = "";
  envelope.forEach((level, i) => {
    const px = x(((i + 0.5) / envelope.length) * duration);
    const half = Math.max(0.5, (level / peak) * (WAVE / 2 - 4));
    path += `M${px.toFixed(1)} ${(middle - half).toFixed(1)}V${(middle + half).toFixed(1)}`;
  });
  root.append(svg("path", { class: "wave", d: path, stroke: "#37474f",
                            "stroke-width": 1.2 }));
  const top = WAVE + GAP;
  const values = segments.map(value);
  const threshold = rule && rule.on === (onLlr ? "llr" : "score") ? rule.threshold : null;
  let lo = Math.min(0, ...values), hi = Math.max(0, ...values);
  if (threshold !== null) { lo = Math.min(lo, threshold); hi = Math.max(hi, threshold); }
  if (hi - lo < 1e-9) { lo -= 1; hi += 1; }
  const pad = (hi - lo) * 0.1;
  lo -= pad; hi += pad;
  const y = (v) => top + ((hi - v) / (hi - lo)) * PLOT;
  root.append(svg("rect", { x: LEFT, y: top, width: W - LEFT, height: PLOT,
                            fill: "#f5f7f9" }));
  root.append(svg("line", { x1: LEFT, x2: W, y1: y(0), y2: y(0), stroke: "#9aa5b1",
                            "stroke-dasharray": "3 3" }));
  for (const mark of new Set([0, Math.max(...values), Math.min(...values)])) {
    if (mark !== 0 && Math.abs(y(mark) - y(0)) < 12) continue;  // no label over the 0's
    root.append(svg("text", { x: LEFT - 4, y: y(mark) + 4, "text-anchor": "end" },
                    mark === 0 ? "0" : mark.toFixed(1)));
  }
  root.append(svg("text", { x: 10, y: top + PLOT / 2, "text-anchor": "middle",
                            transform: `rotate(-90 10 ${top + PLOT / 2})` },
                  onLlr ? "LLR" : "score"));
  if (threshold !== null && Math.abs(threshold) > 1e-9) {
    root.append(svg("line", { x1: LEFT, x2: W, y1: y(threshold), y2: y(threshold),
                              stroke: "#1565c0", "stroke-dasharray": "6 3" },
                    svg("title", {}, `decision threshold ${threshold.toFixed(3)}`)));
  }
  for (const s of segments) {
    const v = value(s);
    root.append(svg("line", { class: "score", x1: x(s.start), x2: x(s.end), y1: y(v), y2: y(v),
                              stroke: colour(s.decision), "stroke-width": 4 }));
  }
  const step = niceStep(duration);
  for (let t = 0; t <= duration + 1e-9; t += step) {
    root.append(svg("line", { x1: x(t), x2: x(t), y1: top + PLOT, y2: top + PLOT + 4,
                              stroke: "#9aa5b1" }));
    root.append(svg("text", { x: x(t), y: H - 3, "text-anchor": "middle" },
                    `${Number(t.toFixed(1))} s`));
  }
  return root;
}

function windowsTable(result) {
  const head = el("tr", {}, ...["start s", "end s", "score", "LLR", "speech s", "decision"]
                                 .map((name) => el("th", {}, name)));
  const rows = result.segments.map((s) => el("tr", {},
    el("td", {}, s.start.toFixed(2)), el("td", {}, s.end.toFixed(2)),
    el("td", {}, fixed(s.score, 3)), el("td", {}, fixed(s.llr, 3)),
    el("td", {}, fixed(s.speech, 2)), el("td", {}, s.decision || "-")));
  return el("details", { class: "windows" }, el("summary", {}, "every window"),
            el("table", {}, head, ...rows));
}

function download() {
  const report = { ...state.model.metadata, results: state.rows };
  const blob = new Blob([JSON.stringify(report, null, 2) + "\n"],
                        { type: "application/json" });
  const link = el("a", { href: URL.createObjectURL(blob), download: "antispoof-results.json" });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}

const drop = document.getElementById("drop");
const input = document.getElementById("files");
input.addEventListener("change", () => { addFiles(input.files); input.value = ""; });
for (const name of ["dragover", "drop"]) {
  window.addEventListener(name, (event) => event.preventDefault());
}
drop.addEventListener("dragover", () => drop.classList.add("over"));
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (event) => {
  drop.classList.remove("over");
  addFiles(event.dataTransfer.files);
});
document.getElementById("download").addEventListener("click", download);
state.queue = loadModel().catch((err) => {
  document.getElementById("model-name").textContent = `not loaded (${err})`;
});
</script>
</body>
</html>
"""
