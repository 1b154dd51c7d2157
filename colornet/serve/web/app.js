// colornet's page: send each dropped photo to /api/colorize (a few at a time, as many as the
// server has workers), show it as a card with a before/after slider and a download link.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { done: 0, total: 0, parallel: 2, queue: [], running: 0 };

async function loadModels() {
  try {
    const answer = await fetch("/api/models");
    const info = await answer.json();
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

async function colorize(file, card) {
  const form = new FormData();
  form.append("image", file, file.name);
  const format = $("format").value;
  const query = new URLSearchParams({
    model: $("model").value, temperature: $("temperature").value, format,
    upsampling: $("guided").checked ? "guided" : "cubic",
  });
  card.querySelector(".state").textContent = "colorizing…";
  try {
    let answer;
    for (let attempt = 0; attempt < 5; attempt++) {
      answer = await fetch(`/api/colorize?${query}`, { method: "POST", body: form });
      if (answer.status !== 503) break;
      const wait = Number(answer.headers.get("Retry-After") || 2);
      await new Promise((resolve) => setTimeout(resolve, wait * 1000));
    }
    if (!answer.ok) {
      const reason = await answer.json().catch(() => ({ error: answer.statusText }));
      throw new Error(reason.error || answer.statusText);
    }
    const url = URL.createObjectURL(await answer.blob());
    const after = card.querySelector(".after");
    await new Promise((resolve, reject) => { after.onload = resolve; after.onerror = reject; after.src = url; });
    const link = card.querySelector(".download");
    link.href = url;
    link.download = file.name.replace(/\.[^.]*$/, "") + `-colorized.${format}`;
    link.hidden = false;
    card.querySelector(".state").textContent = `${after.naturalWidth}×${after.naturalHeight}`;
    card.classList.add("done");
  } catch (error) {
    card.classList.add("failed");
    card.querySelector(".state").textContent = String(error.message || error);
    card.querySelector(".slider").hidden = true;
  }
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
