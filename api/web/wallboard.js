// hotline wallboard: renders the updates of /api/v1/events/wallboard (server-sent
// events, one a second) and keeps the stream alive. No framework, no build step.
// Every value from the server goes through textContent, never innerHTML, so a
// queue named "<script>" is just a name.
"use strict";

(function () {
  const STREAM = "/api/v1/events/wallboard";
  const SNAPSHOT = "/api/v1/wallboard";
  const SVG = "http://www.w3.org/2000/svg";

  // Agent states in display order, with their labels (acd.State names).
  const STATES = [
    ["available", "Available"],
    ["ringing", "Ringing"],
    ["on_call", "On call"],
    ["wrap_up", "Wrap-up"],
    ["missed", "Missed"],
    ["break", "Break"],
    ["offline", "Offline"],
  ];

  const $ = (id) => document.getElementById(id);

  let source = null;       // the EventSource
  let retryDelay = 1000;   // ms before the next reconnection attempt; doubles to 30 s
  let retryTimer = null;
  let lastMessage = 0;     // Date.now() of the last update
  let intervalMs = 1000;   // the server's update interval
  let updates = 0;
  let connects = 0;

  function setStatus(state, text) {
    const el = $("status");
    el.dataset.state = state;
    if (el.textContent !== text) el.textContent = text;
  }

  // connect opens the stream. EventSource reconnects by itself after a network
  // error, but gives up for good on an HTTP error (401, 503): then we retry
  // ourselves with backoff, after checking whether the login has expired.
  function connect() {
    retryTimer = null;
    if (source) source.close();
    connects++;
    document.body.dataset.connects = String(connects);
    source = new EventSource(STREAM);
    source.addEventListener("wallboard", onUpdate);
    source.onopen = () => {
      retryDelay = 1000;
      setStatus("connecting", "Connected, waiting for data…");
    };
    source.onerror = () => {
      if (source && source.readyState === EventSource.CLOSED) {
        scheduleReconnect();
      } else {
        setStatus("reconnecting", "Connection lost; reconnecting…");
      }
    };
  }

  function scheduleReconnect() {
    if (source) {
      source.close();
      source = null;
    }
    if (retryTimer) return;
    setStatus("reconnecting", "Connection lost; retrying in " + Math.round(retryDelay / 1000) + " s…");
    retryTimer = setTimeout(checkThenConnect, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 30000);
  }

  async function checkThenConnect() {
    try {
      const r = await fetch(SNAPSHOT, { credentials: "same-origin", cache: "no-store" });
      if (r.status === 401) {
        location.reload(); // the login form
        return;
      }
    } catch (e) {
      // The server is down: connect anyway, which fails and backs off again.
    }
    connect();
  }

  // The watchdog reconnects a stream that is open but silent (a proxy holding it,
  // a half-dead TCP connection): updates come every interval.
  setInterval(() => {
    if (!lastMessage || retryTimer) return;
    const silent = Date.now() - lastMessage;
    if (silent > Math.max(5000, 4 * intervalMs)) {
      setStatus("stale", "No update for " + Math.round(silent / 1000) + " s; reconnecting…");
      lastMessage = 0;
      scheduleReconnect();
    }
  }, 1000);

  function onUpdate(ev) {
    let u;
    try {
      u = JSON.parse(ev.data);
    } catch (e) {
      setStatus("error", "Unreadable update from the engine");
      return;
    }
    lastMessage = Date.now();
    if (u.interval_seconds > 0) intervalMs = u.interval_seconds * 1000;
    updates++;
    document.body.dataset.updates = String(updates);
    render(u);
    if (u.error) {
      setStatus("error", u.error);
    } else {
      setStatus("live", "Live");
    }
  }

  // Formatting.
  function pct(v, digits) {
    if (v === null || v === undefined) return "–";
    return (v * 100).toFixed(digits) + "%";
  }
  function mmss(sec) {
    if (sec === null || sec === undefined) return "–";
    sec = Math.round(sec);
    const h = Math.floor(sec / 3600);
    const m = Math.floor((sec % 3600) / 60);
    const s = String(sec % 60).padStart(2, "0");
    return h > 0 ? h + ":" + String(m).padStart(2, "0") + ":" + s : m + ":" + s;
  }
  function clock(t) {
    const d = new Date(t);
    return isNaN(d) ? "–" : d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }
  function cell(row, text, cls) {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    row.appendChild(td);
    return td;
  }
  // judged fills a figure compared with its target: green with ✓ when on
  // target, red with ✗ when not, plain when there is no figure yet.
  function judged(row, value, text, onTarget, targetText) {
    const td = cell(row, "", "num big");
    const v = document.createElement("span");
    v.className = "value";
    v.textContent = text;
    td.appendChild(v);
    if (value !== null && value !== undefined) {
      td.classList.add(onTarget ? "ok" : "bad");
      v.textContent = text + (onTarget ? " ✓" : " ✗");
      v.setAttribute("aria-label", text + (onTarget ? ", on target" : ", off target"));
    }
    const t = document.createElement("span");
    t.className = "target";
    t.textContent = targetText;
    td.appendChild(t);
    return td;
  }

  function render(u) {
    $("updated").textContent = clock(u.at);
    $("updated").setAttribute("datetime", u.at);
    $("in-ivr").textContent = String(u.calls.in_ivr);
    $("waiting").textContent = String(u.calls.waiting);
    $("with-agents").textContent = String(u.calls.with_agents);
    renderQueues(u.queues || []);
    renderAgents(u.agents || {});
    renderChart(u.history || [], new Date(u.at));
  }

  function renderQueues(queues) {
    const body = $("queue-rows");
    const rows = [];
    for (const q of queues) {
      const t = q.today || {};
      const tg = t.targets || {};
      const tr = document.createElement("tr");
      tr.dataset.queue = q.queue;
      const name = document.createElement("th");
      name.scope = "row";
      name.className = "queue-name";
      name.textContent = q.queue;
      tr.appendChild(name);
      cell(tr, String(q.waiting), "num big waiting");
      cell(tr, mmss(q.longest_wait_seconds), "num longest");
      const sl = t.service_level;
      judged(tr, sl, pct(sl, 0), sl >= tg.service_level,
        "target ≥ " + pct(tg.service_level, 0) + " in " + Math.round(tg.service_level_threshold_seconds || 20) + " s").classList.add("sl");
      const ab = t.abandon_rate;
      judged(tr, ab, pct(ab, 1), ab <= tg.abandon_rate, "target ≤ " + pct(tg.abandon_rate, 1)).classList.add("abandon");
      cell(tr, String(t.answered || 0), "num answered");
      cell(tr, mmss(t.asa_seconds), "num asa");
      cell(tr, q.agents_available + " / " + q.agents_staffed, "num");
      rows.push(tr);
    }
    if (rows.length === 0) {
      const tr = document.createElement("tr");
      const td = cell(tr, "No queues.");
      td.colSpan = 8;
      rows.push(tr);
    }
    body.replaceChildren(...rows);
  }

  function renderAgents(byState) {
    const items = [];
    const known = new Set();
    const add = (state, label) => {
      known.add(state);
      const li = document.createElement("li");
      li.dataset.state = state;
      const dot = document.createElement("span");
      dot.className = "dot " + state;
      dot.setAttribute("aria-hidden", "true");
      const name = document.createElement("span");
      name.textContent = label;
      const n = document.createElement("strong");
      n.textContent = String(byState[state] || 0);
      li.append(dot, name, n);
      items.push(li);
    };
    for (const [state, label] of STATES) add(state, label);
    for (const state of Object.keys(byState).sort()) {
      if (!known.has(state)) add(state, state);
    }
    $("agent-states").replaceChildren(...items);
  }

  // renderChart draws the last hour as stacked bars, one per minute: with agents
  // at the bottom, then waiting, then in IVR.
  function renderChart(points, now) {
    const svg = $("chart");
    const W = 720, H = 200, left = 34, right = 6, top = 8, bottom = 20;
    const plotW = W - left - right, plotH = H - top - bottom;
    const slot = plotW / 60;
    const nowMin = Math.floor(now.getTime() / 60000);
    let peak = 0, peakAt = null;
    for (const p of points) {
      const total = p.in_ivr + p.waiting + p.with_agents;
      if (total > peak) { peak = total; peakAt = p.t; }
    }
    const ymax = niceMax(Math.max(peak, 4));
    const y = (v) => top + plotH - (v / ymax) * plotH;
    const nodes = [];
    const desc = document.createElementNS(SVG, "desc");
    desc.id = "chart-desc";
    nodes.push(desc);
    for (const v of [0, ymax / 2, ymax]) {
      nodes.push(el("line", { x1: left, x2: W - right, y1: y(v), y2: y(v), class: "axis" }));
      nodes.push(el("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end", class: "label" }, String(v)));
    }
    for (const [i, label] of [[0, "−60 min"], [30, "−30 min"], [59, "now"]]) {
      nodes.push(el("text", { x: left + i * slot + slot / 2, y: H - 5, "text-anchor": i === 0 ? "start" : i === 59 ? "end" : "middle", class: "label" }, label));
    }
    for (const p of points) {
      const i = 59 - (nowMin - Math.floor(new Date(p.t).getTime() / 60000));
      if (i < 0 || i > 59) continue;
      const x = left + i * slot + 1, w = Math.max(slot - 2, 1);
      let base = 0;
      const g = el("g", {});
      for (const [v, cls] of [[p.with_agents, "b-agents"], [p.waiting, "b-queue"], [p.in_ivr, "b-ivr"]]) {
        if (v > 0) g.appendChild(el("rect", { x: x, width: w, y: y(base + v), height: y(base) - y(base + v), class: cls }));
        base += v;
      }
      const title = document.createElementNS(SVG, "title");
      title.textContent = clock(p.t) + ": " + p.with_agents + " with agents, " + p.waiting + " waiting, " + p.in_ivr + " in IVR";
      g.appendChild(title);
      nodes.push(g);
    }
    const last = points.length ? points[points.length - 1] : null;
    desc.textContent = points.length === 0 ? "No data yet." :
      "Peak " + peak + " calls at once" + (peakAt ? " at " + clock(peakAt) : "") +
      "; latest minute " + (last.in_ivr + last.waiting + last.with_agents) + " calls.";
    svg.replaceChildren(...nodes);
  }

  function niceMax(v) {
    for (const step of [4, 10, 20, 40, 100, 200, 400, 1000, 2000, 4000, 10000]) {
      if (v <= step) return step;
    }
    return Math.ceil(v / 10000) * 10000;
  }

  function el(name, attrs, text) {
    const e = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    return e;
  }

  connect();
})();
