// colornet's page: send each dropped photo to /api/colorize (a few at a time, as many as the
// server has workers), show it as a card with a before/after slider and a download link. A
// coloured card takes hints: points placed on the photo, each with a colour from the net's
// palette there (/api/palette) or any colour; every change colours the photo again in place.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { done: 0, total: 0, parallel: 2, queue: [], running: 0 };

async function loadModels() {
  try {
    const answer = await fetch("/api/models");
    const info = await answer.json();
    // The controls take the server's ranges (colorize/settings.py), not numbers of their own.
    const temperature = info.settings.temperature;
    $("temperature").min = temperature.min;
    $("temperature").max = temperature.max;
    const defaultCard = info.models.find((model) => model.name === info.default) || {};
    $("temperature").title = `${temperature.explained}; empty: the model's own` +
      (defaultCard.temperature ? ` (${defaultCard.temperature} for ${info.default})` : "");
    for (const model of info.models) {
      const option = new Option(model.family ? `${model.name} (${model.family})` : model.name, model.name);
      option.selected = model.name === info.default;
      $("model").add(option);
    }
  } catch (error) {
    $("progress").textContent = `cannot list the models: ${error}`;
  }
}

function addCard(file) {
  const card = $("card").content.firstElementChild.cloneNode(true);
  card.querySelector(".name").textContent = file.name;
  card.querySelector(".state").textContent = "waiting…";
  const before = card.querySelector(".before");
  before.src = URL.createObjectURL(file);
  card.querySelector(".slider").addEventListener("input", (event) => {
    before.style.clipPath = `inset(0 ${100 - event.target.value}% 0 0)`;
  });
  $("cards").prepend(card);
  return card;
}

function showProgress() {
  $("progress").textContent = state.total ? `${state.done} of ${state.total} done` : "";
}

async function post(path, query, file) {
  const form = new FormData();
  form.append("image", file, file.name);
  let answer;
  for (let attempt = 0; attempt < 5; attempt++) {
    answer = await fetch(`${path}?${query}`, { method: "POST", body: form });
    if (answer.status !== 503) break;
    const wait = Number(answer.headers.get("Retry-After") || 2);
    await new Promise((resolve) => setTimeout(resolve, wait * 1000));
  }
  if (!answer.ok) {
    const reason = await answer.json().catch(() => ({ error: answer.statusText }));
    throw new Error(reason.error || answer.statusText);
  }
  return answer;
}

async function render(file, card, hints, isCurrent = () => true) {
  const format = $("format").value;
  const query = new URLSearchParams({
    model: $("model").value, format, upsampling: $("guided").checked ? "guided" : "cubic",
  });
  if ($("temperature").value) query.set("temperature", $("temperature").value);
  if (hints && hints.length) query.set("hints", JSON.stringify(hints));
  const answer = await post("/api/colorize", query, file);
  const blob = await answer.blob();
  if (!isCurrent()) return null;  // a newer change was sent meanwhile: its answer will show
  const url = URL.createObjectURL(blob);
  const after = card.querySelector(".after");
  const old = after.src;
  await new Promise((resolve, reject) => { after.onload = resolve; after.onerror = reject; after.src = url; });
  if (old.startsWith("blob:")) URL.revokeObjectURL(old);
  const link = card.querySelector(".download");
  link.href = url;
  link.download = file.name.replace(/\.[^.]*$/, "") + `-colorized.${format}`;
  link.hidden = false;
  return after;
}

async function colorize(file, card) {
  card.querySelector(".state").textContent = "colorizing…";
  try {
    const after = await render(file, card, null);
    card.querySelector(".state").textContent = `${after.naturalWidth}×${after.naturalHeight}`;
    card.classList.add("done");
    setUpHints(file, card);
  } catch (error) {
    card.classList.add("failed");
    card.querySelector(".state").textContent = String(error.message || error);
    card.querySelector(".slider").hidden = true;
  }
}

// Hints: one list per card; the photo is coloured again after each change (the newest request's
// answer wins), and the list downloads as the JSON use_trained_model.py --hints takes.
function setUpHints(file, card) {
  const hints = { points: [], selected: -1, sequence: 0 };
  const after = card.querySelector(".after");
  const compare = card.querySelector(".compare");
  const editor = card.querySelector(".hint-editor");
  const toggle = card.querySelector(".hint-mode");
  toggle.hidden = false;
  toggle.addEventListener("click", () => {
    const on = card.classList.toggle("hinting");
    editor.hidden = !on;
  });
  const toPhoto = (event) => {
    const box = after.getBoundingClientRect();
    const x = Math.min(Math.max(event.clientX - box.left, 0), box.width - 1);
    const y = Math.min(Math.max(event.clientY - box.top, 0), box.height - 1);
    return { x: Math.round(x * after.naturalWidth / box.width), y: Math.round(y * after.naturalHeight / box.height) };
  };
  const update = async () => {
    const sequence = ++hints.sequence;
    const points = hints.points.filter((point) => point.color);
    const blob = new Blob([JSON.stringify(points, null, 1)], { type: "application/json" });
    const json = editor.querySelector(".hints-json");
    json.href = URL.createObjectURL(blob);
    json.download = file.name.replace(/\.[^.]*$/, "") + "-hints.json";
    editor.querySelector(".hint-state").textContent = "colouring…";
    try {
      const started = performance.now();
      if (!await render(file, card, points, () => sequence === hints.sequence)) return;
      editor.querySelector(".hint-state").textContent =
        `${points.length} point(s), ${((performance.now() - started) / 1000).toFixed(2)} s`;
      card.dataset.rendered = String(sequence);
    } catch (error) {
      editor.querySelector(".hint-state").textContent = String(error.message || error);
    }
  };
  const drawDots = () => {
    compare.querySelectorAll(".dot").forEach((dot) => dot.remove());
    hints.points.forEach((point, index) => {
      const dot = document.createElement("span");
      dot.className = "dot" + (index === hints.selected ? " selected" : "");
      dot.style.left = `${100 * point.x / after.naturalWidth}%`;
      dot.style.top = `${100 * point.y / after.naturalHeight}%`;
      dot.style.background = point.color || "transparent";
      dot.addEventListener("pointerdown", (event) => {
        event.stopPropagation();
        dot.setPointerCapture(event.pointerId);
        select(index);
        const move = (moved) => {
          Object.assign(hints.points[index], toPhoto(moved));
          dot.style.left = `${100 * hints.points[index].x / after.naturalWidth}%`;
          dot.style.top = `${100 * hints.points[index].y / after.naturalHeight}%`;
        };
        dot.addEventListener("pointermove", move);
        dot.addEventListener("pointerup", () => { dot.removeEventListener("pointermove", move); update(); }, { once: true });
      });
      compare.appendChild(dot);
    });
  };
  const select = async (index) => {
    hints.selected = index;
    drawDots();
    const panel = editor.querySelector(".hint-selected");
    panel.hidden = index < 0;
    if (index < 0) return;
    const point = hints.points[index];
    editor.querySelector(".picker").value = point.color || "#808080";
    const palette = editor.querySelector(".palette");
    palette.textContent = "…";
    try {
      const query = new URLSearchParams({ x: point.x, y: point.y, model: $("model").value });
      const colours = (await (await post("/api/palette", query, file)).json()).colors;
      palette.textContent = "";
      for (const colour of colours) {
        const swatch = document.createElement("button");
        swatch.type = "button";
        swatch.className = "swatch";
        swatch.style.background = colour;
        swatch.title = colour;
        swatch.addEventListener("click", () => setColour(colour));
        palette.appendChild(swatch);
      }
      if (point.color === null && colours.length) setColour(colours[0]);
    } catch (error) {
      palette.textContent = String(error.message || error);
    }
  };
  const setColour = (colour) => {
    if (hints.selected < 0) return;
    hints.points[hints.selected].color = colour;
    editor.querySelector(".picker").value = colour;
    drawDots();
    update();
  };
  editor.querySelector(".picker").addEventListener("change", (event) => setColour(event.target.value));
  editor.querySelector(".remove").addEventListener("click", () => {
    hints.points.splice(hints.selected, 1);
    select(-1);
    update();
  });
  after.addEventListener("click", (event) => {
    if (!card.classList.contains("hinting")) return;
    hints.points.push({ ...toPhoto(event), color: null });  // the net's likeliest colour, once the palette is in
    select(hints.points.length - 1);
  });
}

function pump() {
  while (state.running < state.parallel && state.queue.length) {
    const [file, card] = state.queue.shift();
    state.running++;
    colorize(file, card).finally(() => {
      state.running--;
      state.done++;
      showProgress();
      pump();
    });
  }
}

function addFiles(files) {
  for (const file of files) {
    state.queue.push([file, addCard(file)]);
    state.total++;
  }
  showProgress();
  pump();
}

function setUp() {
  const drop = $("drop");
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    addFiles(event.dataTransfer.files);
  });
  $("files").addEventListener("change", (event) => { addFiles(event.target.files); event.target.value = ""; });
  loadModels();
}

setUp();
