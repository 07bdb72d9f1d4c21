// One Chromium tab of `simu bench call`: the NX browser peer (peer.js) placing or answering
// calls the way the Simu peers of the same run do, and reporting what it measured to the bench.
import "./peer.js";

const role = new URLSearchParams(location.search).get("role");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const report = (body) => fetch(`/report/${role}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

/** Decoded-frame and byte counters of the received video, from getStats(). */
async function snapshot(pc) {
  const out = { frames: 0, bytes: 0, width: 0, height: 0, codec: "", at: Date.now() };
  if (!pc) return out;
  const report = await pc.getStats();
  const codecs = {};
  report.forEach((s) => { if (s.type === "codec") codecs[s.id] = s.mimeType; });
  report.forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "video") {
      Object.assign(out, { frames: s.framesDecoded ?? 0, bytes: s.bytesReceived ?? 0, width: s.frameWidth ?? 0, height: s.frameHeight ?? 0, codec: codecs[s.codecId] ?? "" });
    }
  });
  return out;
}

/** Capture-to-presentation delay of remote frames, where Chromium knows the capture time. */
const delays = [];
function watchFrames() {
  const video = document.getElementById("remote");
  const tick = (_now, meta) => {
    if (meta.captureTime !== undefined) delays.push({ at: Date.now(), ms: meta.presentationTime - meta.captureTime });
    video.requestVideoFrameCallback(tick);
  };
  video.requestVideoFrameCallback(tick);
}

/** Caps the video sender like the Simu peers' preset, keeping the resolution. */
async function capSender(pc, kbps) {
  for (const s of pc.getSenders()) {
    if (s.track?.kind !== "video") continue;
    const p = s.getParameters();
    if (!p.encodings?.length) continue;
    p.encodings[0].maxBitrate = kbps * 1000;
    p.degradationPreference = "maintain-resolution";
    await s.setParameters(p);
  }
}

async function until(what, f, ms = 30000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Waits for the first decoded remote frame; resolves with the snapshot that shows it. */
const firstFrame = (peer) => until("the first decoded frame", async () => {
  const s = await snapshot(peer.pc);
  return s.frames > 0 ? s : null;
});

function windowReport(a, b) {
  const secs = Math.max(0.001, (b.at - a.at) / 1000);
  const g2g = delays.filter((d) => d.at >= a.at && d.at <= b.at).map((d) => d.ms);
  return { kind: "window", role, start_ms: a.at, end_ms: b.at, fps: (b.frames - a.frames) / secs, bitrate_bps: ((b.bytes - a.bytes) * 8) / secs, width: b.width, height: b.height, g2g_ms: g2g, codec: b.codec };
}

function reset(peer) {
  Object.assign(peer, { state: "idle", pc: null, room: null, final: null, pending: [] });
}

async function main() {
  const cfg = await (await fetch(`/config/${role}`)).json();
  const peer = new window.Peer({ ...cfg, rest: location.origin });
  const send = peer.send.bind(peer);
  let accepted = null;
  peer.send = (to, msg) => {
    // Loopback only: candidates on other interfaces are never offered to the other tab.
    if (msg.type === "webrtc_ice_candidate" && !/ 127\.0\.0\.1 /.test(msg.candidate)) return;
    if (msg.type === "call_response" && msg.accepted) accepted = performance.now();
    send(to, msg);
  };
  await peer.connect();
  watchFrames();
  await report({ kind: "online" });
  for (let i = 0; i < cfg.calls; i++) {
    if (role === "caller") {
      reset(peer);
      await peer.call(cfg.callee);
      await until("the call to connect", () => peer.state === "connected");
      await firstFrame(peer);
      await capSender(peer.pc, cfg.kbps);
      await sleep(cfg.warmup * 1000);
      const a = await snapshot(peer.pc);
      await sleep(cfg.seconds * 1000);
      const b = await snapshot(peer.pc);
      await report(windowReport(a, b));
      await peer.hangUp();
      await sleep(1000);
    } else {
      accepted = null;
      await until("a call", () => accepted !== null, 120000);
      await firstFrame(peer);
      await report({ kind: "setup", ms: performance.now() - accepted });
      await until("the call to connect", () => peer.state === "connected");
      await capSender(peer.pc, cfg.kbps);
      await sleep(cfg.warmup * 1000);
      const a = await snapshot(peer.pc);
      let b = a;
      while (peer.state === "connected") {
        const s = await snapshot(peer.pc).catch(() => null);
        if (s && peer.state === "connected") b = s;
        await sleep(500);
      }
      await report(windowReport(a, b));
      reset(peer);
    }
  }
  await report({ kind: "done" });
}

main().catch((e) => report({ kind: "error", message: String(e?.stack ?? e) }));
