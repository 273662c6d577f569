// glassnet playground page: reads the settings, polls the server's JSON API and draws.
// The server (glassnet.playground.server) trains; this file only asks and paints.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { sid: null, running: false, busy: false, points: null, limits: null };

// Orange (low, class 0) → light grey (middle) → blue (high, class 1), like the boundary.
const LOW = [245, 147, 34], MID = [232, 234, 235], HIGH = [8, 119, 189];
function colour(u) {
  const [a, b, t] = u < 0.5 ? [LOW, MID, u * 2] : [MID, HIGH, (u - 0.5) * 2];
  return a.map((v, i) => Math.round(v + (b[i] - v) * t));
}

async function api(method, path, body) {
  const res = await fetch(path, {
    method, headers: { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = res.status === 204 ? {} : await res.json();
  if (!res.ok) {
    const err = new Error(data.error || res.statusText);
    err.status = res.status;
    throw err;
  }
  return data;
}

function say(text) { $("message").textContent = text || ""; }

// -- settings --------------------------------------------------------------------------
function widthInputs(count, keep) {
  const box = $("widths");
  const old = Array.from(box.querySelectorAll("input")).map((i) => Number(i.value));
  box.innerHTML = "";
  for (let i = 0; i < count; i++) {
    const inp = document.createElement("input");
    Object.assign(inp, { type: "number", min: 1, max: state.limits.max_neurons,
                         value: (keep && old[i]) || 4, title: `neurons in hidden layer ${i + 1}` });
    inp.addEventListener("change", restart);
    box.appendChild(inp);
  }
}

function config() {
  const num = (id) => Number($(id).value);
  return {
    dataset: $("dataset").value, noise: num("noise"), points: num("points"),
    hidden: Array.from($("widths").querySelectorAll("input")).map((i) => Number(i.value)),
    activation: $("activation").value, seed: num("seed"), lr: num("lr"),
    batch_size: num("batch_size"), l2: num("l2"), l1: num("l1"),
  };
}

function liveConfig() {
  const c = config();
  return { lr: c.lr, batch_size: c.batch_size, l2: c.l2, l1: c.l1 };
}

// -- drawing ---------------------------------------------------------------------------
function heatCanvas(heat, g) {
  const bytes = atob(heat.data);
  const off = document.createElement("canvas");
  off.width = off.height = g;
  const ctx = off.getContext("2d");
  const img = ctx.createImageData(g, g);
  for (let i = 0; i < g * g; i++) {
    const [r, gg, b] = colour(bytes.charCodeAt(i) / 255);
    img.data.set([r, gg, b, 255], i * 4);
  }
  ctx.putImageData(img, 0, 0);
  return off;
}

function paint(canvas, heat, g) {
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(heatCanvas(heat, g), 0, 0, canvas.width, canvas.height);
  return ctx;
}

function inputHeat(k, g) {                    // x₁ or x₂ itself over the plane
  let s = "";
  for (let r = 0; r < g; r++) {
    for (let c = 0; c < g; c++) {
      const u = k === 0 ? c / (g - 1) : 1 - r / (g - 1);
      s += String.fromCharCode(Math.round(u * 255));
    }
  }
  return { data: btoa(s) };
}

function neuronCanvas(heat, g, title) {
  const cv = document.createElement("canvas");
  cv.width = cv.height = 64;
  cv.className = "neuron";
  cv.title = title;
  paint(cv, heat, g);
  return cv;
}

function drawNetwork(snap) {
  const g = snap.grid, box = $("network");
  box.innerHTML = "";
  const column = (title, canvases) => {
    const col = document.createElement("div");
    col.className = "layer";
    const t = document.createElement("div");
    t.className = "title";
    t.textContent = title;
    col.appendChild(t);
    canvases.forEach((c) => col.appendChild(c));
    box.appendChild(col);
  };
  column("inputs", [neuronCanvas(inputHeat(0, g), g, "x₁"), neuronCanvas(inputHeat(1, g), g, "x₂")]);
  snap.neurons.forEach((layer, li) => column(`layer ${li + 1}: ${snap.config.activation}`,
    layer.map((h, j) => neuronCanvas(h, g, `layer ${li + 1}, neuron ${j + 1}: a in [${h.lo}, ${h.hi}]`))));
  column("output ŷ", [neuronCanvas(snap.boundary, g, "ŷ = σ(z_out)")]);
}

function drawBoundary(snap) {
  const cv = $("boundary"), ctx = paint(cv, snap.boundary, snap.grid);
  if (!state.points) return;
  const P = snap.plane, W = cv.width, H = cv.height;
  const px = (x) => ((x + P) / (2 * P)) * W, py = (y) => H - ((y + P) / (2 * P)) * H;
  const dot = ([x, y, label], test) => {
    ctx.beginPath();
    ctx.arc(px(x), py(y), 3.2, 0, 2 * Math.PI);
    ctx.fillStyle = label > 0.5 ? "#0877bd" : "#f59322";
    ctx.fill();
    ctx.lineWidth = test ? 1.6 : 0.8;
    ctx.strokeStyle = test ? "#000" : "#fff";
    ctx.stroke();
  };
  state.points.train.forEach((p) => dot(p, false));
  state.points.test.forEach((p) => dot(p, true));
}

function drawCurve(h) {
  const cv = $("curve"), ctx = cv.getContext("2d"), W = cv.width, H = cv.height;
  ctx.clearRect(0, 0, W, H);
  const vals = h.train.concat(h.test).filter((v) => v !== null);
  if (!vals.length) return;
  const top = Math.max(...vals, 1e-6), last = Math.max(h.step[h.step.length - 1], 1);
  const line = (ys, style) => {
    ctx.beginPath();
    ctx.strokeStyle = style;
    ctx.lineWidth = 1.5;
    ys.forEach((v, i) => {
      if (v === null) return;
      const x = (h.step[i] / last) * (W - 4) + 2, y = H - 2 - (v / top) * (H - 14);
      i ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
    });
    ctx.stroke();
  };
  line(h.test, "#999");
  line(h.train, "#183153");
  ctx.fillStyle = "#555";
  ctx.font = "10px sans-serif";
  ctx.fillText(`max ${top.toFixed(3)}   step ${last}`, 4, 10);
}

const fmt = (v) => (v === null || v === undefined ? "NaN" : v.toFixed(4));

function draw(snap) {
  state.sid = snap.id;
  if (snap.points) state.points = snap.points;
  $("step-count").textContent = snap.step;
  $("epoch-count").textContent = snap.epoch;
  $("train-loss").textContent = fmt(snap.loss.train);
  $("test-loss").textContent = fmt(snap.loss.test);
  $("test-acc").textContent = snap.accuracy.test === null ? "–" : `${(100 * snap.accuracy.test).toFixed(1)}%`;
  drawNetwork(snap);
  drawBoundary(snap);
  drawCurve(snap.history);
  $("notation").textContent = snap.notation ? snap.notation.lines.join("\n")
    : "Step 0: no step yet. Press \"one step\" or \"start\".";
  if (snap.diagram) $("diagram").innerHTML = snap.diagram;   // gn.viz.diagram(model, x)
  if (snap.diverged) {
    say("The loss is no longer a number (diverged): lower the learning rate and reset.");
    pause();
  }
}

// -- actions ---------------------------------------------------------------------------
async function guarded(fn) {
  state.busy = true;
  try {
    return await fn();
  } catch (e) {
    if (e.status === 404) {                 // evicted by newer sessions: start a fresh one
      say("This session was evicted by newer ones; started a new one.");
      state.sid = null;
      await create();
    } else {
      say(e.message);
      pause();
    }
  } finally {
    state.busy = false;
  }
}

async function create() {
  const old = state.sid;
  state.points = null;
  const snap = await api("POST", "/api/sessions", { config: config() });
  draw(snap);
  if (old) api("DELETE", `/api/sessions/${old}`).catch(() => {});
}

function restart() {
  say("");
  const n = Math.max(0, Math.min(state.limits.max_layers, Number($("layers").value) || 0));
  if ($("widths").children.length !== n) widthInputs(n, true);
  guarded(create);
}

async function stepOnce(n) {
  if (state.sid === null) await create();
  draw(await api("POST", `/api/sessions/${state.sid}/step`, { steps: n }));
}

async function loop() {
  if (!state.running) return;
  if (!state.busy) await guarded(() => stepOnce(Number($("speed").value)));
  if (state.running) setTimeout(loop, 30);
}

function start() {
  if (state.running) return;
  say("");
  state.running = true;
  $("start").disabled = true;
  $("pause").disabled = false;
  loop();
}

function pause() {
  state.running = false;
  $("start").disabled = false;
  $("pause").disabled = true;
}

async function init() {
  const info = await api("GET", "/api/limits");
  state.limits = info.limits;
  for (const [id, names] of [["dataset", info.datasets], ["activation", info.activations]]) {
    $(id).innerHTML = names.map((n) => `<option>${n}</option>`).join("");
    $(id).value = info.defaults[id];
  }
  for (const id of ["noise", "points", "seed", "lr", "batch_size", "l2", "l1"]) $(id).value = info.defaults[id];
  $("noise-value").textContent = info.defaults.noise;
  $("layers").value = info.defaults.hidden.length;
  $("layers").max = info.limits.max_layers;
  $("points").max = info.limits.max_points;
  widthInputs(info.defaults.hidden.length, false);
  document.querySelectorAll("[data-restart]").forEach((el) => el.addEventListener("change", restart));
  document.querySelectorAll("[data-live]").forEach((el) => el.addEventListener("change", () =>
    guarded(async () => draw(await api("POST", `/api/sessions/${state.sid}/config`, { config: liveConfig() })))));
  $("noise").addEventListener("input", () => { $("noise-value").textContent = $("noise").value; });
  $("start").addEventListener("click", start);
  $("pause").addEventListener("click", pause);
  $("step").addEventListener("click", () => { pause(); guarded(() => stepOnce(1)); });
  $("reset").addEventListener("click", () => { pause(); guarded(async () => {
    state.points = null;
    draw(await api("POST", `/api/sessions/${state.sid}/reset`));
  }); });
  await guarded(create);
  document.body.dataset.ready = "1";
}

init();
