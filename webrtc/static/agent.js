// hotline agent softphone: plain JavaScript, no build step. Protocol: see the Go
// package github.com/hotline-ivr/hotline/webrtc.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const status = $("status"), errorBox = $("error"), level = $("level"), remote = $("remote");
  // window.hotline exposes the softphone's state to tests and supervisors' tools.
  const h = window.hotline = { agent: "", connection: "new", media: "", state: "loggedout", presence: "",
    offerId: "", screenPop: null, muted: false, held: false, wrapLeft: 0, whisper: "", errors: [], pc: null };
  let ws = null, pc = null, mic = null, pending = [], haveAnswer = false, timers = {};

  const say = (t) => { status.textContent = t; };
  const fail = (t) => { errorBox.textContent = t; h.errors.push(t); };
  const send = (m) => { if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(m)); };
  const show = (id, on) => { $(id).hidden = !on; };

  function countdown(name, seconds, el, done) {
    clearInterval(timers[name]);
    let left = Math.max(0, Math.round(seconds));
    el.textContent = String(left);
    if (name === "wrap") h.wrapLeft = left;
    timers[name] = setInterval(() => {
      left = Math.max(0, left - 1);
      el.textContent = String(left);
      if (name === "wrap") h.wrapLeft = left;
      if (left === 0) { clearInterval(timers[name]); if (done) done(); }
    }, 1000);
  }

  $("login").addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (ws) return;
    errorBox.textContent = "";
    say("Logging in…");
    ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + document.body.dataset.ws);
    ws.onopen = () => send({ type: "login", token: $("token").value });
    ws.onmessage = (e) => onMessage(JSON.parse(e.data));
    ws.onclose = () => {
      ws = null;
      if (pc) { pc.close(); pc = h.pc = null; }
      if (mic) { mic.getTracks().forEach((t) => t.stop()); mic = null; }
      h.state = "loggedout";
      show("desk", false); show("offer", false); show("incall", false); show("wrapup", false); show("login", true);
      say("Logged out.");
    };
  });

  async function onMessage(m) {
    switch (m.type) {
      case "welcome":
        h.agent = m.agent; h.state = "idle";
        $("who").textContent = "Logged in as " + m.agent;
        show("login", false); show("desk", true);
        return connectMedia(m.iceServers || []);
      case "answer":
        await pc.setRemoteDescription({ type: "answer", sdp: m.sdp });
        haveAnswer = true;
        for (const c of pending) await addCandidate(c);
        pending = [];
        return;
      case "candidate":
        if (!haveAnswer) { pending.push(m.candidate); return; }
        return addCandidate(m.candidate);
      case "state":
        h.media = m.state;
        if (m.state === "answered") say("Connected. Choose Available to take calls.");
        if (m.state === "ended") fail("The softphone's audio connection ended.");
        return;
      case "presence":
        h.presence = m.presence;
        $("available").setAttribute("aria-pressed", String(m.presence === "available"));
        $("break").setAttribute("aria-pressed", String(m.presence === "break"));
        say(m.presence === "available" ? "Available: waiting for calls." : "On break (" + (m.reason || "") + ").");
        return;
      case "ring": return ring(m);
      case "cancel":
        if (h.offerId === m.offerId && h.state === "ringing") {
          clearInterval(timers.ring); show("offer", false); h.state = "idle"; say("The call was taken elsewhere or the caller left.");
        }
        return;
      case "talking":
        clearInterval(timers.ring);
        h.state = "talking"; show("offer", false); show("incall", true);
        say("On a call with " + ((h.screenPop && h.screenPop.caller_number) || "the caller") + ".");
        $("hangup").focus();
        return;
      case "whisper":
        h.whisper = m.text; $("whisper").textContent = m.text;
        return;
      case "call_ended":
        h.state = "ended"; setMute(false, true); setHold(false, true);
        show("incall", false);
        say(m.reason === "hangup" ? "The caller hung up." : "Call ended.");
        return;
      case "wrapup":
        h.state = "wrapup"; show("wrapup", true);
        countdown("wrap", m.seconds || 0, $("wrap-left"), () => ready(true));
        $("ready").focus();
        return;
      case "error":
        fail(m.message || m.code);
        return;
    }
  }

  async function addCandidate(c) { try { await pc.addIceCandidate(c); } catch (e) { /* unusable candidate */ } }

  async function connectMedia(iceServers) {
    try {
      mic = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true } });
    } catch (e) { fail("The microphone is not available: " + e.message); return; }
    startMeter(mic);
    pc = h.pc = new RTCPeerConnection({ iceServers });
    // Our candidates wait for the offer to be sent: the engine needs it first.
    let offered = false;
    const early = [];
    pc.onicecandidate = (e) => {
      const m = { type: "candidate", candidate: e.candidate ? e.candidate.toJSON() : null };
      if (offered) send(m); else early.push(m);
    };
    pc.onconnectionstatechange = () => { h.connection = pc.connectionState; if (pc.connectionState === "failed") fail("No audio path to the engine (network or firewall)."); };
    pc.ontrack = (e) => { remote.srcObject = e.streams[0] || new MediaStream([e.track]); remote.play().catch(() => {}); };
    pc.addTrack(mic.getAudioTracks()[0], mic);
    const o = await pc.createOffer();
    await pc.setLocalDescription(o);
    send({ type: "offer", sdp: o.sdp });
    offered = true;
    early.forEach(send);
    say("Connecting audio…");
  }

  function ring(m) {
    h.state = "ringing"; h.offerId = m.offerId;
    const p = h.screenPop = m.screenPop || {};
    const dl = $("pop");
    dl.textContent = "";
    const row = (k, v) => { if (v === undefined || v === null || v === "" || (Array.isArray(v) && !v.length)) return;
      const dt = document.createElement("dt"), dd = document.createElement("dd"); dt.textContent = k; dd.textContent = v; dl.append(dt, dd); };
    row("Caller", p.caller_number); row("Queue", p.queue); row("Called", p.called);
    row("Waited", p.wait_seconds !== undefined ? Math.round(p.wait_seconds) + " s" : "");
    row("Intent", p.intent); row("Sentiment", typeof p.sentiment === "number" ? p.sentiment.toFixed(2) : "");
    row("Menu path", (p.ivr_path || []).join(" → ")); row("Digits", p.digits);
    for (const [k, v] of Object.entries(p.vars || {})) row(k, v);
    row("Transcript", p.transcript); row("Callback", p.callback ? "yes" : "");
    show("wrapup", false); show("offer", true);
    say("Incoming call from " + (p.caller_number || "a caller") + " in " + (p.queue || "a queue") + ".");
    countdown("ring", m.seconds || 0, $("ring-left"));
    $("accept").focus();
  }

  function setMute(on, quiet) {
    h.muted = on;
    if (mic) mic.getAudioTracks().forEach((t) => { t.enabled = !on && !h.held; });
    $("mute").setAttribute("aria-pressed", String(on));
    if (!quiet) { send({ type: "mute", on }); say(on ? "Microphone muted." : "Microphone on."); }
  }
  function setHold(on, quiet) {
    h.held = on;
    if (mic) mic.getAudioTracks().forEach((t) => { t.enabled = !on && !h.muted; });
    remote.muted = on;
    $("hold").setAttribute("aria-pressed", String(on));
    if (!quiet) { send({ type: "hold", on }); say(on ? "Caller on hold." : "Caller back from hold."); }
  }
  // ready ends the wrap-up: early by the agent's choice (sent to the engine), or
  // when the countdown ends (auto: the ACD ends it by itself).
  function ready(auto) {
    clearInterval(timers.wrap);
    show("wrapup", false);
    h.state = "idle"; h.wrapLeft = 0;
    if (auto !== true) send({ type: "ready" });
    say(h.presence === "available" ? "Available: waiting for calls." : "Ready.");
  }

  $("available").addEventListener("click", () => send({ type: "presence", presence: "available" }));
  $("break").addEventListener("click", () => send({ type: "presence", presence: "break", reason: $("reason").value }));
  $("accept").addEventListener("click", () => send({ type: "accept", offerId: h.offerId }));
  $("reject").addEventListener("click", () => { send({ type: "reject", offerId: h.offerId }); show("offer", false); h.state = "idle"; clearInterval(timers.ring); say("Call declined."); });
  $("mute").addEventListener("click", () => setMute(!h.muted));
  $("hold").addEventListener("click", () => setHold(!h.held));
  $("hangup").addEventListener("click", () => send({ type: "hangup" }));
  $("xfer").addEventListener("submit", (ev) => { ev.preventDefault(); const to = $("xfer-to").value.trim(); if (to) send({ type: "transfer", to }); });
  $("ready").addEventListener("click", () => ready(false));

  function startMeter(stream) {
    try {
      const ctx = new AudioContext(), an = ctx.createAnalyser();
      an.fftSize = 1024;
      ctx.createMediaStreamSource(stream).connect(an);
      const buf = new Float32Array(an.fftSize);
      setInterval(() => {
        an.getFloatTimeDomainData(buf);
        let sum = 0;
        for (const v of buf) sum += v * v;
        level.value = Math.min(1, Math.sqrt(sum / buf.length) * 4);
        level.textContent = level.value.toFixed(2);
      }, 100);
    } catch (e) { /* no Web Audio: no meter */ }
  }
})();
