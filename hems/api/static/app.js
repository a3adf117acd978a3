// hems phone page: talks only to the box that served it (same origin), never to another host.
// Data is written with textContent only (nothing the API returns is ever parsed as HTML).
"use strict";

const KEY = "hems.token";
let token = null;
let tz = undefined;
let currency = "";
let stream = null;

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v; else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function svg(tag, attrs) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  return node;
}

const fmt = {
  kw(w) { return w == null ? "—" : (w / 1000).toFixed(2) + " kW"; },
  kwh(x) { return x == null ? "—" : x.toFixed(1) + " kWh"; },
  money(x) { return x == null ? "—" : x.toFixed(2) + " " + currency; },
  time(iso) {
    if (!iso) return "—";
    return new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: tz })
      .format(new Date(iso));
  },
  day(iso) {
    return new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", timeZone: tz })
      .format(new Date(iso));
  },
};

async function api(path) {
  const res = await fetch(path, { headers: { Authorization: "Bearer " + token }, cache: "no-store" });
  if (res.status === 401) { signOut("That token is not valid (expired or revoked?)."); throw new Error("401"); }
  if (!res.ok) throw new Error(path + ": " + res.status);
  return res.json();
}

function setStatus(text, stale) {
  $("status").textContent = text;
  $("status").classList.toggle("stale", !!stale);
}

// ----- now ------------------------------------------------------------------------------------------
function renderLive(doc) {
  const now = doc && doc.now;
  if (!now) { setStatus("no live data yet", true); return; }
  const site = (doc.state && doc.state.site) || {};
  tz = site.timezone || tz;
  currency = now.currency || currency;
  setStatus(now.stale ? "no new data since " + fmt.time(now.time) : "live · " + fmt.time(now.time), now.stale);
  const net = now.net_w;
  $("now-power").textContent = net == null ? "—" : net >= 0 ? fmt.kw(net) : fmt.kw(-net) + " out";
  $("now-house").textContent = fmt.kw(now.house_w);
  $("now-pv").textContent = now.pv_w == null ? "—" : fmt.kw(now.pv_w);
  $("now-cost").textContent = now.cost_per_hour == null ? "—" : fmt.money(now.cost_per_hour) + "/h";
  $("now-price").textContent = now.price_import_per_kwh == null ? "—"
    : now.price_import_per_kwh.toFixed(2) + " " + currency + "/kWh" + (now.price_band ? " (" + now.price_band + ")" : "");
  $("now-cost-note").textContent = now.cost_note || "";
  const bars = $("fuse");
  bars.replaceChildren();
  for (const line of now.fuse.lines) {
    const share = line.load == null ? 0 : Math.min(line.load, 1);
    const fill = el("div", { class: "fill" + (share >= 0.9 ? " crit" : share >= 0.75 ? " warn" : "") });
    fill.style.width = (share * 100).toFixed(0) + "%";
    bars.append(el("div", { class: "bar" }, el("span", {}, line.line), el("div", { class: "track" }, fill),
      el("span", {}, line.i_a.toFixed(1) + " / " + (now.fuse.main_fuse_a || "?") + " A")));
  }
  $("now-missing").textContent = now.missing.length ? "not heard this cycle: " + now.missing.join(", ") : "";
  renderCapacityHour(now.capacity);
  renderActive(now.alerts);
}

function renderCapacityHour(cap) {
  if (!cap) { $("cap-hour").textContent = ""; return; }
  const upper = cap.step_upper_kw == null ? "the top step" : "the step up to " + cap.step_upper_kw + " kW";
  $("cap-hour").textContent = "This hour is heading for " + cap.projected_kw.toFixed(2) + " kWh (" +
    cap.hour_kwh_so_far.toFixed(2) + " so far); the month is on " + upper + ".";
}

function renderActive(alerts) {
  const list = $("alerts-active");
  list.replaceChildren();
  for (const a of alerts || []) list.append(el("li", { class: a.level || "" }, a.message));
  if (!list.children.length) list.append(el("li", {}, "No alerts now."));
}

// ----- plan ---------------------------------------------------------------------------------------
function renderPlan(plan) {
  const runs = $("plan-runs");
  runs.replaceChildren();
  for (const r of plan.runs) {
    let when = r.start ? fmt.time(r.start) + (r.end ? "–" + fmt.time(r.end) : "") : "not planned";
    if (r.start && !r.continuous) when += " (in parts)";
    runs.append(el("li", {}, el("strong", {}, r.appliance), " " + when + " · " + r.energy_kwh.toFixed(1) + " kWh",
      el("span", { class: "why" }, r.why || "")));
  }
  if (!plan.runs.length) runs.append(el("li", {}, plan.status ? "Nothing to plan now (" + plan.status + ")." : "No plan yet."));
  const notes = $("plan-notes");
  notes.replaceChildren(...plan.notes.map((n) => el("li", {}, n)));
  drawPrices(plan);
}

function drawPrices(plan) {
  const box = $("plan-chart");
  box.replaceChildren();
  const prices = plan.import_price_per_kwh || [];
  if (!prices.length || !plan.slots.length) return;
  const valid = prices.filter((p) => p != null);
  const max = Math.max(...valid, 0.01);
  const sorted = [...valid].sort((a, b) => a - b);
  const low = sorted[Math.floor(sorted.length / 3)], high = sorted[Math.floor((2 * sorted.length) / 3)];
  const w = 300, h = 60, bw = w / prices.length;
  const chart = svg("svg", { viewBox: `0 0 ${w} ${h}`, preserveAspectRatio: "none", role: "img" });
  prices.forEach((p, i) => {
    if (p == null) return;
    const bh = Math.max(1, (p / max) * (h - 4));
    chart.append(svg("rect", { x: i * bw, y: h - bh, width: Math.max(bw - 0.3, 0.5), height: bh,
      class: p <= low ? "low" : p >= high ? "high" : "normal" }));
  });
  const t0 = new Date(plan.slots[0]).getTime(), t1 = new Date(plan.slots[plan.slots.length - 1]).getTime();
  const now = Date.now();
  if (now >= t0 && now <= t1) {
    const x = ((now - t0) / (t1 - t0)) * w;
    chart.append(svg("line", { x1: x, x2: x, y1: 0, y2: h, class: "now" }));
  }
  box.append(chart);
}

// ----- capacity step and month ---------------------------------------------------------------------------
function renderMonth(m) {
  const house = m.house;
  $("month-import").textContent = fmt.kwh(house.import_kwh);
  $("month-use").textContent = fmt.kwh(house.consumption_kwh);
  $("month-pv").textContent = fmt.kwh(house.pv_kwh);
  $("month-cost").textContent = m.cost ? m.cost.total.toFixed(0) + " " + m.cost.currency : "—";
  const notes = [];
  if (m.cost) notes.push("energy " + m.cost.energy.toFixed(0) + ", capacity " + m.cost.capacity.toFixed(0) +
    ", fixed " + m.cost.fixed.toFixed(0) + " " + m.cost.currency);
  if (m.cost_note) notes.push(m.cost_note);
  if (m.coverage < 0.99) notes.push("data for " + Math.round(m.coverage * 100) + " % of the month so far");
  $("month-note").textContent = notes.join(" · ");
  const basis = m.capacity_basis_kw;
  let text = basis == null ? "No full hour measured this month yet." :
    "The month's three largest daily peaks average " + basis.toFixed(2) + " kW";
  if (basis != null && m.step) {
    text += m.step.upper_kw == null ? ": the top step, " : ": the step up to " + m.step.upper_kw + " kW, ";
    text += m.step.price_per_month.toFixed(0) + " " + (m.cost ? m.cost.currency : currency) + " a month";
    if (m.step.headroom_kw != null) text += " (" + m.step.headroom_kw.toFixed(2) + " kW below the next).";
  }
  $("cap-month").textContent = text;
  $("cap-peaks").replaceChildren(...m.peak_hours.map((p) =>
    el("li", {}, fmt.day(p.start) + " " + fmt.time(p.start) + ": " + p.import_kwh.toFixed(2) + " kWh")));
  const days = $("month-days");
  days.replaceChildren();
  if (m.days.length) {
    const w = 310, h = 60, bw = w / 31, max = Math.max(...m.days.map((d) => d.import_kwh), 0.1);
    const chart = svg("svg", { viewBox: `0 0 ${w} ${h}`, preserveAspectRatio: "none", role: "img" });
    for (const d of m.days) {
      const i = Number(d.day.slice(8, 10)) - 1, bh = Math.max(1, (d.import_kwh / max) * (h - 2));
      chart.append(svg("rect", { x: i * bw, y: h - bh, width: bw - 1, height: bh }));
    }
    days.append(chart);
  }
}

function renderEvents(a) {
  renderActive(a.active);
  const list = $("alerts-events");
  list.replaceChildren(...a.events.slice(-20).reverse().map((e) =>
    el("li", {}, fmt.time(e.time) + " " + e.level + ": " + e.message)));
  if (!list.children.length) list.append(el("li", {}, "Nothing logged."));
}

// ----- loading ----------------------------------------------------------------------------------------
async function readStream() {
  // fetch() rather than EventSource: the token goes in a header, never in a URL
  const res = await fetch("/api/v1/live/stream", { headers: { Authorization: "Bearer " + token } });
  if (res.status === 401) { signOut("That token is not valid (expired or revoked?)."); return; }
  if (!res.ok || !res.body) throw new Error("stream " + res.status);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
    let cut;
    while ((cut = buf.indexOf("\n\n")) >= 0) {
      const chunk = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      const data = chunk.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
      if (chunk.includes("event: revoked")) { signOut("This token was revoked."); return; }
      if (data) renderLive(JSON.parse(data));
    }
  }
}

async function live() {
  for (let attempt = 0; token; attempt++) {
    try {
      await readStream();
    } catch (err) {
      try { renderLive(await api("/api/v1/live")); } catch (e) { setStatus("box not reachable", true); }
    }
    await new Promise((r) => setTimeout(r, Math.min(30000, 2000 * (attempt + 1))));
  }
}

async function stored() {
  const jobs = [
    api("/api/v1/plan").then(renderPlan),
    api("/api/v1/month").then(renderMonth),
    api("/api/v1/alerts?hours=24").then(renderEvents),
  ];
  await Promise.allSettled(jobs);
}

function signOut(message) {
  token = null;
  localStorage.removeItem(KEY);
  for (const id of ["now", "plan", "capacity", "alerts", "month"]) $(id).hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message || "";
  setStatus("signed out", true);
}

async function start() {
  $("login").hidden = true;
  let who;
  try {
    who = await api("/api/v1/whoami");
  } catch (err) {
    if (token) setStatus("box not reachable", true);
    return;
  }
  const data = who.scopes.includes("data");
  $("now").hidden = !who.scopes.includes("live");
  for (const id of ["plan", "capacity", "alerts", "month"]) $(id).hidden = !data;
  if (who.scopes.includes("live")) {
    api("/api/v1/live").then(renderLive).catch(() => {});
    live();
  }
  if (data) {
    await stored();
    setInterval(stored, 60000);
  }
  if (!who.scopes.includes("live") && !data) setStatus("this " + who.role + " token shows nothing here", true);
}

document.addEventListener("DOMContentLoaded", () => {
  const hash = new URLSearchParams(location.hash.slice(1));
  if (hash.get("token")) {
    localStorage.setItem(KEY, hash.get("token"));
    history.replaceState(null, "", location.pathname);
  }
  token = localStorage.getItem(KEY);
  $("login").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const value = $("token-input").value.trim();
    if (!value) return;
    token = value;
    localStorage.setItem(KEY, value);
    start();
  });
  $("logout").addEventListener("click", () => signOut(""));
  if (token) start(); else signOut("");
});
