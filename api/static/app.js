// Slidecast's page: plain JavaScript on the JSON API (docs/service.md, "The web page").
// Every request goes through api(), which adds the API key (asked for once when the server
// answers 401, kept in localStorage) as a Bearer header. That is also why images, downloads
// and the event stream are fetched rather than linked: a link cannot carry the header.
"use strict";

const FINAL = new Set(["succeeded", "failed", "cancelled"]);
const KEY_NAME = "slidecast.apiKey";
const jobs = new Map();          // job id -> {doc, row}
const removed = new Set();       // jobs deleted here: a late event of their stream must not bring a row back
const view = {jobId: null, slides: [], at: 0};
const $ = (id) => document.getElementById(id);

// ---- talking to the API --------------------------------------------------------------------
function authHeaders(extra) {
  const headers = Object.assign({}, extra || {});
  const key = localStorage.getItem(KEY_NAME);
  if (key) headers.Authorization = "Bearer " + key;
  return headers;
}

async function api(path, options) {
  options = options || {};
  for (let attempt = 0; attempt < 3; attempt++) {
    const response = await fetch(path, Object.assign({}, options, {headers: authHeaders(options.headers)}));
    if (response.status !== 401) return response;
    const key = window.prompt(await keyQuestion(response));
    if (!key) return response;
    localStorage.setItem(KEY_NAME, key.trim());
  }
  return fetch(path, Object.assign({}, options, {headers: authHeaders(options.headers)}));
}

// The first time, that a key is needed; after a key was sent, that the server refused it and why
// (unknown, revoked): asked the same question again, a person would think the key went unread.
async function keyQuestion(response) {
  if (!localStorage.getItem(KEY_NAME)) return "This Slidecast server needs an API key (ask its operator):";
  return "The server refused that API key: " + await problemText(response.clone()) +
    "\nEnter another key (ask the server's operator):";
}

async function problemText(response) {
  try {
    const body = await response.json();
    return body.detail || body.title || ("HTTP " + response.status);
  } catch (e) {
    return "HTTP " + response.status;
  }
}

async function blobUrl(path) {
  const response = await api(path);
  if (!response.ok) throw new Error(await problemText(response));
  return URL.createObjectURL(await response.blob());
}

// ---- submitting ------------------------------------------------------------------------------
function submitOptions() {
  return {transcribe: $("transcribe").checked, pptx: $("pptx").checked};
}

// A video this server has already turned into slides is not sent again: its SHA-256 is asked
// for first (POST /api/jobs/repeat). crypto.subtle exists on https and localhost pages only.
const HASH_FIRST_LIMIT = 512 * 1024 * 1024;

async function sha256Hex(file) {
  const digest = await crypto.subtle.digest("SHA-256", await file.arrayBuffer());
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

// A file already processed comes back from its hash alone; null when it has to be sent.
async function knownByHash(file) {
  if (!(window.crypto && crypto.subtle && file.size <= HASH_FIRST_LIMIT)) return null;
  const body = JSON.stringify(Object.assign({video_sha256: await sha256Hex(file)}, submitOptions()));
  const known = await api("/api/jobs/repeat", {method: "POST", body, headers: {"Content-Type": "application/json"}});
  return known.status === 200 || known.status === 202 ? known : null;
}

// Several videos go in one POST /api/jobs/batch (at most BATCH_SIZE each, the server's default
// BATCH_MAX); a single one in POST /api/jobs.
const BATCH_SIZE = 20;

async function sendBatch(files, urls) {
  const form = new FormData();
  for (const file of files) form.append("file", file, file.name);
  for (const url of urls) form.append("video_url", url);
  for (const [name, value] of Object.entries(submitOptions())) form.append(name, String(value));
  const response = await api("/api/jobs/batch", {method: "POST", body: form});
  // 202 all accepted, 207 some; a batch none of which was accepted is an error that still
  // lists every video's reason in `items`.
  const body = await response.clone().json().catch(() => ({}));
  if (!Array.isArray(body.items)) {
    showError(await problemText(response));
    return;
  }
  for (const item of body.items) {
    if (item.job) showAccepted(item.job);
    else showError(named(item.file || item.video_url, item.problem.detail));
  }
}

// "name: why", unless the reason already starts with the name (the server names a file it could
// not read, as it shows file names: at most DISPLAYED_NAME characters).
const DISPLAYED_NAME = 255;

function named(name, detail) {
  return detail.startsWith(name.slice(0, DISPLAYED_NAME)) ? detail : name + ": " + detail;
}

async function submitVideos(files, urls) {
  const known = await Promise.all(files.map(knownByHash));
  known.forEach((response, i) => response && accepted(response, files[i].name));
  const unknown = files.filter((_, i) => !known[i]);
  const items = unknown.map((file) => ["file", file]).concat(urls.map((url) => ["url", url]));
  if (items.length === 1) {
    const [kind, value] = items[0];
    return kind === "file" ? submitFile(value) : submitUrl(value);
  }
  for (let start = 0; start < items.length; start += BATCH_SIZE) {
    const part = items.slice(start, start + BATCH_SIZE);
    await sendBatch(part.filter(([kind]) => kind === "file").map(([, v]) => v),
                    part.filter(([kind]) => kind === "url").map(([, v]) => v));
  }
}

async function submitFile(file) {
  const form = new FormData();
  form.append("file", file, file.name);
  for (const [name, value] of Object.entries(submitOptions())) form.append(name, String(value));
  return accepted(await api("/api/jobs", {method: "POST", body: form}), file.name);
}

// One video (a file or a URL) with the talk's PDF as `deck`, in one multipart POST /api/jobs. It
// is not asked for by hash first: the same video with a deck is another job than without.
async function submitWithDeck(file, url, deck) {
  const form = new FormData();
  if (file) form.append("file", file, file.name);
  else form.append("video_url", url);
  form.append("deck", deck, deck.name);
  for (const [name, value] of Object.entries(submitOptions())) form.append(name, String(value));
  return accepted(await api("/api/jobs", {method: "POST", body: form}), file ? file.name : url, deck.name);
}

async function submitUrl(url) {
  const body = JSON.stringify(Object.assign({video_url: url}, submitOptions()));
  const response = await api("/api/jobs", {method: "POST", body, headers: {"Content-Type": "application/json"}});
  return accepted(response, url);
}

// A refusal is shown under the name of what was refused: the deck's when the server names the
// `deck` field, else the video's.
async function accepted(response, name, deckName) {
  if (response.status !== 200 && response.status !== 202) {
    const body = await response.clone().json().catch(() => ({}));
    const refused = deckName && (body.invalid_fields || []).includes("deck") ? deckName : name;
    showError(named(refused, await problemText(response)));
    return;
  }
  showAccepted(await response.json());
}

function showAccepted(doc) {
  showJob(doc);
  if (!FINAL.has(doc.status)) follow(doc.id);
}

// Errors of one submission (a batch's refused videos) are listed one per line.
function showError(text) {
  const box = $("submit-error");
  box.textContent = box.hidden ? text : box.textContent + "\n" + text;
  box.hidden = false;
}

async function submitAll(event) {
  event.preventDefault();
  $("submit-error").hidden = true;
  const files = Array.from($("files").files);
  const urls = $("urls").value.split("\n").map((u) => u.trim()).filter(Boolean);
  const deck = $("deck").files[0];
  if (!files.length && !urls.length) {
    showError("Pick or drop a video, or paste its URL.");
    return;
  }
  if (deck && files.length + urls.length !== 1) {
    showError("A slides PDF goes with one video: pick a single video (or URL), or remove the PDF.");
    return;
  }
  $("start").disabled = true;
  try {
    await (deck ? submitWithDeck(files[0], urls[0], deck) : submitVideos(files, urls));
    $("files").value = "";
    $("urls").value = "";
    $("deck").value = "";
  } finally {
    $("start").disabled = false;
  }
}

// ---- jobs and their live progress ----------------------------------------------------------
function jobName(doc) {
  const source = doc.source || {};
  return source.filename || source.url || doc.id;
}

function showJob(doc) {
  if (removed.has(doc.id)) return;
  let entry = jobs.get(doc.id);
  if (!entry) {
    const row = document.createElement("li");
    row.dataset.job = doc.id;
    row.innerHTML = '<div class="job-head"><span class="job-name"></span><span class="job-state"></span></div>' +
      '<progress max="100" value="0"></progress><div class="job-actions"></div><p class="job-note" role="status"></p>';
    $("jobs").prepend(row);
    entry = {doc, row};
    jobs.set(doc.id, entry);
  }
  entry.doc = Object.assign(entry.doc, doc);
  renderJob(entry);
}

function renderJob(entry) {
  const doc = entry.doc, row = entry.row;
  row.querySelector(".job-name").textContent = jobName(doc);
  const state = doc.status === "running" && doc.stage ? doc.stage : doc.status;
  const percent = Math.round(doc.progress || 0);
  row.querySelector(".job-state").textContent = state + (FINAL.has(doc.status) ? "" : " " + percent + "%");
  row.dataset.status = doc.status;
  row.querySelector("progress").value = doc.progress || 0;
  const actions = row.querySelector(".job-actions");
  actions.textContent = "";
  if (doc.status === "succeeded") {
    const count = doc.slide_count || 0;
    // The list shows every appearance: say so when returns make it longer than the slides.
    const shown = doc.appearance_count > count ? " (" + doc.appearance_count + " appearances)" : "";
    actions.append(jobButton("open-job", "show " + count + (count === 1 ? " slide" : " slides") + shown,
                             () => openJob(doc.id)));
  }
  if (FINAL.has(doc.status)) {
    actions.append(jobButton("delete-job", "delete", () => deleteJob(doc.id)));
  } else {
    actions.append(jobButton("cancel-job", "cancel", () => cancelJob(doc.id)));
  }
  if (doc.status === "failed") actions.append(paragraph("error", doc.error || "failed"));
  if (doc.status === "succeeded") actions.append(...(doc.warnings || []).map((w) => paragraph("warning", w)));
}

function jobButton(className, label, onclick) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = className;
  button.textContent = label;
  button.onclick = onclick;
  return button;
}

function paragraph(className, text) {
  const note = document.createElement("p");
  note.className = className;
  note.textContent = text;
  return note;
}

// ---- cancelling and deleting a job ----------------------------------------------------------
// Each asks first; what came of it is said under the job, or above the list once its row is gone.
function noteJob(jobId, text) {
  const entry = jobs.get(jobId);
  if (entry) entry.row.querySelector(".job-note").textContent = text;
}

function noteJobs(text) {
  const note = $("jobs-note");
  note.textContent = text;
  note.hidden = false;
}

async function cancelJob(jobId) {
  const name = jobName(jobs.get(jobId).doc);
  if (!window.confirm("Cancel “" + name + "”? The work done on it so far is lost.")) return;
  const response = await api("/api/jobs/" + jobId + "/cancel", {method: "POST"});
  if (response.ok) {
    showJob(await response.json());
    noteJob(jobId, "Cancelled.");
  } else if (response.status === 404) {
    forget(jobId, "“" + name + "” is no longer on the server.");
  } else {  // 409: it finished meanwhile; show how
    noteJob(jobId, "Not cancelled: " + await problemText(response));
    const now = await api("/api/jobs/" + jobId);
    if (now.ok) showJob(await now.json());
  }
}

async function deleteJob(jobId) {
  const name = jobName(jobs.get(jobId).doc);
  if (!window.confirm("Delete “" + name + "” with its slides and downloads? This cannot be undone.")) return;
  const response = await api("/api/jobs/" + jobId, {method: "DELETE"});
  if (response.status === 204) {
    forget(jobId, "Deleted “" + name + "”.");
  } else if (response.status === 404) {
    forget(jobId, "“" + name + "” was already deleted.");
  } else {
    noteJob(jobId, "Not deleted: " + await problemText(response));
  }
}

// The job's row goes, and its gallery if it is the one open.
function forget(jobId, text) {
  const entry = jobs.get(jobId);
  removed.add(jobId);
  jobs.delete(jobId);
  if (entry) entry.row.remove();
  if (view.jobId === jobId) {
    view.jobId = null;
    view.slides = [];
    if ($("viewer").open) $("viewer").close();
    $("gallery").hidden = true;
  }
  noteJobs(text);
}

function parseFrame(raw) {
  const frame = {};
  for (const line of raw.split("\n")) {
    const at = line.indexOf(":");
    if (at <= 0) continue;
    frame[line.slice(0, at)] = line.slice(at + 1).replace(/^ /, "");
  }
  return frame;
}

// Server-Sent Events through fetch (an EventSource cannot send the API key). Resumes with
// Last-Event-ID after a dropped connection; falls back to polling when the server has no
// stream to spare (503) or streaming keeps failing.
async function follow(jobId) {
  let last = null;
  for (let failures = 0; failures < 5;) {
    try {
      const response = await api("/api/jobs/" + jobId + "/events", {headers: last ? {"Last-Event-ID": last} : {}});
      if (!response.ok || !response.body) break;
      if (await readEvents(jobId, response.body.getReader(), (id) => { last = id; })) return;
    } catch (e) {
      failures++;
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
  poll(jobId);
}

async function readEvents(jobId, reader, remember) {
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const {value, done} = await reader.read();
    if (done) return false;
    buffer += decoder.decode(value, {stream: true});
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const frame = parseFrame(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
      if (frame.id) remember(frame.id);
      if (!frame.event || !frame.data) continue;
      const data = JSON.parse(frame.data);
      if (frame.event === "deleted") return true;
      showJob(Object.assign({}, data, {id: jobId}));
      if (FINAL.has(data.status)) return true;
    }
  }
}

async function poll(jobId) {
  for (;;) {
    const response = await api("/api/jobs/" + jobId);
    if (response.status === 404) return;
    if (response.ok) {
      const doc = await response.json();
      showJob(doc);
      if (FINAL.has(doc.status)) return;
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

async function loadJobs() {
  const response = await api("/api/jobs?per_page=20");
  if (!response.ok) return;
  const page = await response.json();
  for (const doc of page.items.reverse()) {
    showJob(doc);
    if (!FINAL.has(doc.status)) follow(doc.id);
  }
}

// ---- the gallery and the slide viewer ------------------------------------------------------
function clock(seconds) {
  const s = Math.floor(seconds || 0);
  const hms = [Math.floor(s / 3600), Math.floor(s / 60) % 60, s % 60];
  const text = hms.map((n) => String(n).padStart(2, "0")).join(":");
  return hms[0] ? text : text.slice(3);
}

const DOWNLOADS = [["pdf", "PDF", "slides.pdf"], ["notes", "Notes", "notes.md"], ["pptx", "PowerPoint", "slides.pptx"],
  ["chapters", "Chapters", "chapters.txt"], ["srt", "Subtitles (SRT)", "transcript.srt"],
  ["vtt", "Subtitles (VTT)", "transcript.vtt"], ["archive", "Everything (ZIP)", "slidecast.zip"]];

// "lecture 3.mp4" -> "lecture 3 - slides.pdf": several lectures' downloads stay apart in one folder.
function downloadName(doc, filename) {
  const stem = jobName(doc).split(/[?#]/)[0].split("/").filter(Boolean).pop() || "";
  const plain = stem.replace(/\.[A-Za-z0-9]{1,5}$/, "").replace(/[^\w .()-]+/g, "_").trim().slice(0, 80);
  return plain && plain !== doc.id ? plain + " - " + filename : filename;
}

async function openJob(jobId, slideIndex) {
  const response = await api("/api/jobs/" + jobId + "/slides");
  if (!response.ok) return showError(await problemText(response));
  const listing = await response.json();
  const doc = (jobs.get(jobId) || {}).doc || (await (await api("/api/jobs/" + jobId)).json());
  view.jobId = jobId;
  view.slides = listing.slides;
  for (const entry of jobs.values()) entry.row.classList.toggle("open", entry.doc.id === jobId);
  $("gallery-title").textContent = "Slides of " + jobName(doc);
  renderDownloads(doc);
  renderSlides();
  $("gallery").hidden = false;
  if (slideIndex) {
    showSlide(view.slides.findIndex((s) => s.index === slideIndex));
  } else {
    $("gallery").scrollIntoView({behavior: "smooth"});
  }
}

function renderDownloads(doc) {
  const box = $("downloads");
  box.textContent = "";
  for (const [kind, label, filename] of DOWNLOADS) {
    if (!doc.links || !doc.links[kind]) continue;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "download";
    button.dataset.kind = kind;
    button.textContent = label;
    button.onclick = () => download(doc.links[kind], downloadName(doc, filename));
    box.append(button);
  }
}

async function download(path, filename) {
  const link = document.createElement("a");
  link.href = await blobUrl(path);
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
}

function renderSlides() {
  const list = $("slides");
  list.textContent = "";
  view.slides.forEach((slide, at) => {
    const item = document.createElement("li");
    item.dataset.slide = slide.index;
    item.tabIndex = 0;
    item.innerHTML = '<img alt=""><div class="meta"><span class="time"></span> <strong></strong> <span class="deck-page"></span><p class="text"></p><p class="narration"></p></div>';
    item.querySelector(".time").textContent = clock(slide.start) + "–" + clock(slide.end);
    item.querySelector("strong").textContent = "#" + slide.index + (slide.same_as ? " (as #" + slide.same_as + ")" : "");
    item.querySelector(".deck-page").textContent = slide.deck_page ? "deck page " + slide.deck_page : "";
    item.querySelector(".text").textContent = slide.text || "";
    item.querySelector(".narration").textContent = slide.transcript ? "“" + slide.transcript + "”" : "";
    item.querySelector("img").alt = slide.title || "slide " + slide.index;
    blobUrl(slide.thumbnail_url).then((url) => { item.querySelector("img").src = url; }).catch(() => {});
    item.onclick = () => showSlide(at);
    item.onkeydown = (event) => { if (event.key === "Enter") showSlide(at); };
    list.append(item);
  });
}

async function showSlide(at) {
  if (at < 0 || at >= view.slides.length) return;
  view.at = at;
  const slide = view.slides[at];
  const dialog = $("viewer");
  dialog.dataset.slide = slide.index;
  $("viewer-title").textContent = "Slide " + slide.index + " of " + view.slides.length + (slide.title ? ": " + slide.title : "");
  $("viewer-time").textContent = clock(slide.start) + "–" + clock(slide.end);
  $("viewer-text").textContent = slide.text || "(no text found on this slide)";
  $("viewer-transcript").textContent = slide.transcript || "(no narration)";
  $("viewer-prev").disabled = at === 0;
  $("viewer-next").disabled = at === view.slides.length - 1;
  if (!dialog.open) dialog.showModal();
  const image = $("viewer-image");
  image.alt = "slide " + slide.index;
  image.src = await blobUrl(slide.image_url);
}

function viewerKeys(event) {
  if (!$("viewer").open) return;
  if (event.key === "ArrowRight") showSlide(view.at + 1);
  if (event.key === "ArrowLeft") showSlide(view.at - 1);
}

// ---- search ----------------------------------------------------------------------------------
async function search(event) {
  event.preventDefault();
  const q = $("search-q").value.trim();
  const list = $("results");
  list.textContent = "";
  $("search-results").hidden = false;
  if (!q) return;
  const response = await api("/api/search?q=" + encodeURIComponent(q));
  if (!response.ok) {
    list.textContent = await problemText(response);
    return;
  }
  const found = await response.json();
  if (!found.results.length) list.textContent = "Nothing found for “" + q + "”.";
  for (const hit of found.results) {
    const item = document.createElement("li");
    item.dataset.job = hit.job_id;
    item.dataset.slide = hit.slide;
    item.innerHTML = '<div><strong class="where"></strong> <span class="time"></span></div><div class="snippet"></div>';
    item.querySelector(".where").textContent = (hit.job_name || hit.job_id) + ", slide " + hit.slide;
    item.querySelector(".time").textContent = clock(hit.start) + "–" + clock(hit.end);
    item.querySelector(".snippet").innerHTML = hit.snippet_html;  // escaped by the server, <mark> only
    item.onclick = () => openJob(hit.job_id, hit.slide);
    list.append(item);
  }
}

// ---- wiring ----------------------------------------------------------------------------------
function wireDrop() {
  const drop = $("drop");
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    $("files").files = event.dataTransfer.files;
  });
}

document.addEventListener("DOMContentLoaded", () => {
  wireDrop();
  $("upload-form").addEventListener("submit", submitAll);
  $("search-form").addEventListener("submit", search);
  $("viewer-prev").onclick = () => showSlide(view.at - 1);
  $("viewer-next").onclick = () => showSlide(view.at + 1);
  $("viewer-close").onclick = () => $("viewer").close();
  document.addEventListener("keydown", viewerKeys);
  loadJobs();
});
