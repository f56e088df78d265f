// Home page: polls one compact JSON of every meter and draws it twice — the floor map (a tile per shop, coloured
// by status) and the meter table (filters, sorting, paging, batch operations with a confirmation).
"use strict";
(function () {
  const POLL_MS = 2000;
  const csrf = document.body.dataset.csrf;
  const L = JSON.parse(document.getElementById("grid-labels").textContent);
  const $ = (id) => document.getElementById(id);
  const tbody = document.querySelector("#grid tbody");
  const selected = new Set();
  let rows = [];
  let page = 0;
  let pageSize = $("page-size") ? Number($("page-size").value) : 200;
  let sortCol = 0;
  let sortDir = 1;
  let lastTag = null;
  const collator = new Intl.Collator(undefined, {numeric: true});

  const yuan = (fen) => (fen === null || fen === undefined ? "—" : (fen / 100).toFixed(2));
  // Times in the site's time zone (Asia/Shanghai by default) and the page language, not the browser's.
  const clock = new Intl.DateTimeFormat(document.body.dataset.lang || undefined, {
    timeZone: document.body.dataset.tz || undefined, year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
  });
  const when = (ts) => (ts ? clock.format(new Date(ts * 1000)) : "—");
  const esc = (s) => String(s === null || s === undefined ? "" : s).replace(/[&<>"]/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]));

  function visible() {
    const q = $("q").value.trim().toLowerCase();
    const b = $("f-building").value, f = $("f-floor").value, s = $("f-status").value;
    const out = rows.filter((r) => (!b || r[2] === b) && (!f || r[3] === f) && (!s || r[6] === s) &&
      (!q || [r[0], r[1], r[5], r[4]].some((v) => String(v === null ? "" : v).toLowerCase().includes(q))));
    out.sort((x, y) => {
      const a = x[sortCol], c = y[sortCol];
      if (a === c) return 0;
      if (a === null || a === undefined || a === "") return 1;
      if (c === null || c === undefined || c === "") return -1;
      if (typeof a === "string" && typeof c === "string") return collator.compare(a, c) * sortDir;
      return (a < c ? -1 : 1) * sortDir;
    });
    return out;
  }

  const marksOf = (flags) => [...flags].map((f) => `<span class="mark mark-${f}">${esc(L.flags[f] || f)}</span>`).join("");

  function renderMap() {
    const map = $("floor-map");
    if (!map) return;
    const buildings = new Map();
    for (const r of rows) {
      if (!buildings.has(r[2])) buildings.set(r[2], new Map());
      const floors = buildings.get(r[2]);
      if (!floors.has(r[3])) floors.set(r[3], []);
      floors.get(r[3]).push(r);
    }
    const html = [];
    for (const [building, floors] of [...buildings].sort((a, b) => collator.compare(a[0], b[0]))) {
      html.push(`<h3 class="building-name">${esc(L.buildings[building] || building)}</h3>`);
      for (const [floor, tiles] of [...floors].sort((a, b) => collator.compare(b[0], a[0]))) {  // top floor first
        tiles.sort((a, b) => collator.compare(a[11] || a[1], b[11] || b[1]));
        html.push(`<div class="floor" data-floor="${esc(floor)}"><div class="floor-name">${esc(floor)}</div><div class="tiles">` +
          tiles.map((r) => `<a class="tile st-${r[6]}${r[7].includes("T") ? " tripped" : ""}" href="/meters/${esc(r[0])}" data-id="${esc(r[0])}" ` +
            `title="${esc(r[1])} · ${esc(L.status[r[6]] || r[6])}"><span class="room">${esc(r[11] || r[1])}</span>` +
            `<span class="who">${esc(r[5] || L.status[r[6]] || "")}</span>${r[7] ? `<span class="marks">${marksOf(r[7])}</span>` : ""}</a>`).join("") +
          "</div></div>");
      }
    }
    map.innerHTML = html.join("") || `<p class="chart-empty">${esc(L.floor_map_empty)}</p>`;
  }

  function render() {
    const list = visible();
    const pages = Math.max(1, Math.ceil(list.length / pageSize));
    page = Math.min(page, pages - 1);
    const html = [];
    for (const r of list.slice(page * pageSize, page * pageSize + pageSize)) {
      const id = esc(r[0]);
      const marks = r[7] ? ` ${marksOf(r[7])}` : "";
      html.push(`<tr class="row-${r[6]}${r[7].includes("T") ? " tripped" : ""}" data-id="${id}"><td><input type="checkbox" class="sel" value="${id}" ${selected.has(r[0]) ? "checked" : ""}></td>` +
        `<td><a href="/meters/${id}">${esc(r[11] || r[1])}</a></td><td>${esc(r[1])}</td><td>${esc(L.buildings[r[2]] || r[2])}</td><td>${esc(r[3])}</td>` +
        `<td>${r[4] === null ? "" : `<a href="/accounts/${r[4]}">${esc(r[5] || r[4])}</a>`}</td>` +
        `<td class="status"><span class="st st-${r[6]}">${esc(L.status[r[6]] || r[6])}</span>${marks}</td>` +
        `<td class="num">${yuan(r[8])}</td><td class="num">${r[9] === null ? "—" : r[9]}</td><td>${when(r[10])}</td></tr>`);
    }
    tbody.innerHTML = html.join("");
    $("count").textContent = `${list.length} / ${rows.length} ${L.meters}`;
    $("page").textContent = `${page + 1} / ${pages}`;
    if ($("selected")) $("selected").textContent = selected.size;
  }

  async function poll() {
    try {
      const res = await fetch("/web/grid.json", {credentials: "same-origin", cache: "no-cache"});
      if (res.status === 200) {
        const etag = res.headers.get("ETag");
        if (etag !== lastTag) {
          lastTag = etag;
          rows = (await res.json()).rows;
          renderMap();
          render();
        }
        $("updated").textContent = `${L.updated} ${clock.format(new Date())}`;
      }
    } finally {
      setTimeout(poll, POLL_MS);
    }
  }

  ["q", "f-building", "f-floor", "f-status"].forEach((id) => $(id).addEventListener("input", () => { page = 0; render(); }));
  if ($("page-size")) $("page-size").addEventListener("change", () => { pageSize = Number($("page-size").value); page = 0; render(); });
  const preset = new URLSearchParams(location.search).get("status");
  if (preset && [...$("f-status").options].some((o) => o.value === preset)) $("f-status").value = preset;
  document.querySelectorAll("#tabs a[data-tab]").forEach((a) => a.addEventListener("click", (e) => {
    e.preventDefault();
    document.querySelectorAll("#tabs a").forEach((x) => x.classList.toggle("on", x === a));
    document.querySelectorAll(".tab-body").forEach((body) => body.classList.toggle("hidden", body.id !== `tab-${a.dataset.tab}`));
    history.replaceState(null, "", a.href);
  }));
  $("prev").onclick = () => { page = Math.max(0, page - 1); render(); };
  $("next").onclick = () => { page += 1; render(); };
  document.querySelectorAll("th[data-sort]").forEach((th) => th.addEventListener("click", () => {
    const col = Number(th.dataset.sort);
    sortDir = col === sortCol ? -sortDir : 1;
    sortCol = col;
    render();
  }));
  tbody.addEventListener("change", (e) => {
    if (!e.target.classList.contains("sel")) return;
    if (e.target.checked) selected.add(e.target.value); else selected.delete(e.target.value);
    render();
  });
  $("all").addEventListener("change", (e) => {
    for (const r of visible()) { if (e.target.checked) selected.add(r[0]); else selected.delete(r[0]); }
    render();
  });

  const service = $("b-service");
  function showOptions() {
    $("b-tariff").style.display = service.value === "push_tariff" ? "" : "none";
    $("b-settings").style.display = service.value === "push_settings" ? "" : "none";
  }
  if (service) { service.addEventListener("change", showOptions); showOptions(); }

  function batchData() {
    const data = {};
    if (service.value === "push_tariff" && $("b-price").value.trim()) data.price = $("b-price").value.trim();
    if (service.value === "push_settings") {
      const fen = (v) => Math.round(Number(v) * 100);
      if ($("b-alarm1").value) data.alarm1_fen = fen($("b-alarm1").value);
      if ($("b-alarm2").value) data.alarm2_fen = fen($("b-alarm2").value);
      if ($("b-overload").value) data.overload_w = Number($("b-overload").value);
    }
    return data;
  }

  async function watch(batchId) {
    const res = await fetch(`/web/batch/${batchId}`, {credentials: "same-origin"});
    const job = await res.json();
    const lines = Object.entries(job.items).map(([id, it]) =>
      `<li class="b-${it.state}" data-id="${esc(id)}">${esc(names.get(id) || id)}: ${esc(L[it.state] || it.state)}${it.error ? " — " + esc(it.error) : ""}</li>`);
    $("b-progress").innerHTML = `<div id="b-summary"><a href="/batches/${esc(batchId)}">${esc(L.services[job.service] || job.service)}</a>: ${job.done}/${job.total} ${esc(L.done)}, ${job.failed} ${esc(L.failed)}</div><ul>${lines.join("")}</ul>`;
    if (!job.finished) setTimeout(() => watch(batchId), 400);
  }

  const names = new Map();  // entity id -> what people call the meter, for the batch's outcome lines
  const dialog = $("b-dialog");
  if ($("b-run")) $("b-run").addEventListener("click", () => {
    if (!service.value) { $("b-progress").textContent = L.choose_action; return; }
    if (!selected.size) { $("b-progress").textContent = L.nothing_selected; return; }
    $("b-question").textContent = L.question.replace("{count}", selected.size).replace("{action}", L.services[service.value]);
    dialog.showModal();
  });
  if (dialog) $("b-cancel").addEventListener("click", () => dialog.close());
  if (dialog) $("b-confirm").addEventListener("click", async () => {
    dialog.close();
    for (const r of rows) names.set(r[0], r[11] ? `${r[11]} ${r[1]}` : r[1]);
    const res = await fetch("/web/batch", {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
      body: JSON.stringify({service: service.value, entity_ids: [...selected], data: batchData()}),
    });
    const answer = await res.json();
    if (res.status !== 200) { $("b-progress").textContent = answer.error; return; }
    watch(answer.batch_id);
  });
  if ($("export-form")) $("export-form").addEventListener("submit", (e) => {
    if (!selected.size) { e.preventDefault(); return; }
    $("export-ids").value = [...selected].join(",");
  });
  poll();
})();
