// hotline click-to-call: plain JavaScript, no build step. The signalling protocol is
// documented in the Go package github.com/hotline-ivr/hotline/webrtc.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const status = $("status"), errorBox = $("error"), callBtn = $("call"), hangBtn = $("hangup");
  const level = $("level"), remote = $("remote");
  // window.hotline exposes the call's state to tests and to embedding pages.
  const h = window.hotline = { state: "idle", connection: "new", callId: "", errors: [], digitsSent: "", pc: null };
  let ws = null, pc = null, mic = null, dtmf = null, meterTimer = 0, audioCtx = null;
  let pendingCandidates = [], haveAnswer = false;

  function say(text) { status.textContent = text; }
  function fail(text) { errorBox.textContent = text; h.errors.push(text); }
  function setState(s) { h.state = s; }

  function wsURL() {
    const path = document.body.dataset.ws;
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
  }
  function send(msg) { if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg)); }

  async function start(ev) {
    if (ev) ev.preventDefault();
    if (pc) return;
    errorBox.textContent = "";
    callBtn.disabled = true;
    say("Asking for the microphone…");
    try {
      mic = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true } });
    } catch (e) {
      fail("The microphone is not available: " + e.message);
      say("Not connected.");
      callBtn.disabled = false;
      return;
    }
    startMeter(mic);
    say("Connecting…");
    setState("connecting");
    ws = new WebSocket(wsURL());
    ws.onmessage = (e) => onMessage(JSON.parse(e.data));
    ws.onclose = () => { if (h.state !== "ended" && h.state !== "idle") { fail("The connection to the service was lost."); } finish("Call ended."); };
    ws.onerror = () => {};
  }

  async function onMessage(m) {
    switch (m.type) {
      case "hello": return offer(m.iceServers || []);
      case "answer":
        h.callId = m.callId;
        await pc.setRemoteDescription({ type: "answer", sdp: m.sdp });
        haveAnswer = true;
        for (const c of pendingCandidates) await addCandidate(c);
        pendingCandidates = [];
        say("Calling…");
        return;
      case "candidate":
        if (!haveAnswer) { pendingCandidates.push(m.candidate); return; }
        return addCandidate(m.candidate);
      case "state":
        setState(m.state);
        if (m.state === "ringing") say("Ringing…");
        if (m.state === "early" || m.state === "answered") { say("Connected. Use the keypad to choose."); hangBtn.disabled = false; }
        if (m.state === "ended") finish(m.reason === "hangup" ? "The service ended the call." : "Call ended.");
        return;
      case "error":
        fail(m.message || m.code);
        return;
    }
  }

  async function addCandidate(c) {
    try { await pc.addIceCandidate(c === null ? null : c); } catch (e) { /* a candidate we cannot use */ }
  }

  async function offer(iceServers) {
    pc = h.pc = new RTCPeerConnection({ iceServers });
    // Our candidates wait for the offer to be sent: the engine needs it first.
    let offered = false;
    const early = [];
    pc.onicecandidate = (e) => {
      const m = { type: "candidate", candidate: e.candidate ? e.candidate.toJSON() : null };
      if (offered) send(m); else early.push(m);
    };
    pc.onconnectionstatechange = () => {
      h.connection = pc.connectionState;
      if (pc.connectionState === "failed") fail("No audio path to the service (network or firewall).");
    };
    pc.ontrack = (e) => { remote.srcObject = e.streams[0] || new MediaStream([e.track]); remote.play().catch(() => {}); };
    const sender = pc.addTrack(mic.getAudioTracks()[0], mic);
    dtmf = sender.dtmf;
    hangBtn.disabled = false;
    const o = await pc.createOffer();
    await pc.setLocalDescription(o);
    send({ type: "offer", sdp: o.sdp, to: $("to").value.trim() });
    offered = true;
    early.forEach(send);
  }

  function press(d) {
    if (!pc || (h.state !== "answered" && h.state !== "early")) return;
    h.digitsSent += d;
    if (dtmf && dtmf.canInsertDTMF) dtmf.insertDTMF(dtmf.toneBuffer + d, 120, 70);
    else send({ type: "dtmf", digits: d });
    say("Sent " + (d === "*" ? "star" : d === "#" ? "hash" : d) + ".");
  }

  function hangup() {
    send({ type: "hangup" });
    finish("You hung up.");
  }

  function finish(text) {
    if (!pc && !ws && !mic) return;
    if (h.state !== "idle") setState("ended");
    if (pc) { pc.close(); pc = null; }
    if (ws) { const w = ws; ws = null; w.onclose = null; try { w.close(); } catch (e) {} }
    if (mic) { mic.getTracks().forEach((t) => t.stop()); mic = null; }
    stopMeter();
    haveAnswer = false; pendingCandidates = []; dtmf = null;
    say(text);
    callBtn.disabled = false; hangBtn.disabled = true;
    callBtn.focus();
  }

  function startMeter(stream) {
    try {
      audioCtx = new AudioContext();
      const an = audioCtx.createAnalyser();
      an.fftSize = 1024;
      audioCtx.createMediaStreamSource(stream).connect(an);
      const buf = new Float32Array(an.fftSize);
      meterTimer = setInterval(() => {
        an.getFloatTimeDomainData(buf);
        let sum = 0;
        for (const v of buf) sum += v * v;
        const rms = Math.sqrt(sum / buf.length);
        level.value = Math.min(1, rms * 4);
        level.textContent = level.value.toFixed(2);
        h.micLevel = Math.max(h.micLevel || 0, level.value);
      }, 100);
    } catch (e) { /* no Web Audio: no meter */ }
  }
  function stopMeter() {
    clearInterval(meterTimer);
    if (audioCtx) { audioCtx.close(); audioCtx = null; }
    level.value = 0;
  }

  $("dial").addEventListener("submit", start);
  hangBtn.addEventListener("click", hangup);
  document.querySelectorAll("#keypad button").forEach((b) => b.addEventListener("click", () => press(b.dataset.digit)));
  document.addEventListener("keydown", (e) => {
    if (e.target && e.target.tagName === "INPUT") return;
    if (/^[0-9*#]$/.test(e.key)) { press(e.key); e.preventDefault(); }
  });
  window.addEventListener("pagehide", () => { if (pc) hangup(); });
})();
