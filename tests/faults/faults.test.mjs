// A call between two Simu peers in two network namespaces joined by a veth pair, with faults
// made by the test: random UDP loss (nftables), a bandwidth cap (tbf), and the link going down
// and up. The server and the answering peer live in `simu_fa`, the caller in `simu_fb`.
// Run as root by scripts/faults.sh; nothing leaves the two namespaces.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "../..");
const simu = process.env.SIMU_CLI ?? path.join(root, "target/debug/simu");
const A = "simu_fa", B = "simu_fb", IP_A = "10.77.0.1", IP_B = "10.77.0.2";
const server = `http://${IP_A}:8787`;
const dir = mkdtempSync(path.join(tmpdir(), "simu-faults-"));
const procs = [];

const sh = (...args) => execFileSync(args[0], args.slice(1), { stdio: ["ignore", "pipe", "pipe"] }).toString();
const inNs = (ns, ...args) => sh("ip", "netns", "exec", ns, ...args);

function spawnIn(ns, args) {
  // SIMU_DATA_DIR: the CLI reads the server's tenant keys from its data directory.
  const p = spawn("ip", ["netns", "exec", ns, simu, ...args], { env: { ...process.env, SIMU_DATA_DIR: dir }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  p.stdout.on("data", (d) => (out += d));
  p.stderr.on("data", (d) => (out += d));
  procs.push(p);
  return { proc: p, output: () => out, exit: new Promise((r) => p.on("exit", (code) => r(code))) };
}

/** Every stats line (one a second) of a CLI's output, oldest first. */
function allStats(out) {
  return out.split("\n").filter((l) => l.startsWith("{") && l.includes("\"videoOut\"")).map((l) => JSON.parse(l));
}

function lastStats(out) {
  return allStats(out).at(-1) ?? null;
}

/** SIMU_FAULTS_LONG=1 (scripts/bench-faults.sh): every cap, longer calls. CI runs the short form. */
const LONG = process.env.SIMU_FAULTS_LONG === "1";

/** Simu's send rate after 10 s under each cap (kbit/s -> share of the cap), for the comparison
 * with Chromium's own controller on the same link. */
const simuUtilisation = new Map();

/** Mean total send rate (video + audio payload, bit/s) over stats samples `from`..`to` seconds. */
function sendRate(samples, from, to = Infinity) {
  const w = samples.slice(from, to);
  return w.length ? w.reduce((a, s) => a + s.videoOut.bitrate + s.audioOut.bitrate, 0) / w.length : 0;
}

/** What the rate controller allows (the encoder's target plus audio), mean bit/s over samples [from, to). */
function allowedRate(samples, from, to = Infinity) {
  const w = samples.slice(from, to);
  return w.length ? w.reduce((a, s) => a + s.videoOut.targetBitrate + s.audioOut.bitrate, 0) / w.length : 0;
}

/**
 * Whether the controller uses the link: the sender fills half of it, or the encoder makes less
 * than the controller allows (OpenH264 at 720p makes ~450 kbit/s of the synthetic pattern at the
 * lowest QP its rate control picks, whatever the target: see docs/VIDEO.md) and the allowance
 * is at least half the link.
 */
function usesLink(sent, allowed, link) {
  return sent >= 0.5 * link || (sent < 0.8 * allowed && allowed >= 0.5 * link);
}

/** The userspace impairment relay (tests/faults/impair.py) in namespace `ns` for UDP to `peer`. */
function relay(ns, peer) {
  const p = spawn("ip", ["netns", "exec", ns, "python3", path.join(import.meta.dirname, "impair.py"), "--tun", "simu_tun", "--peer", peer, "--seconds", "120"], { stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  p.stdout.on("data", (d) => (out += d));
  p.stderr.on("data", (d) => (out += d));
  procs.push(p);
  const exited = new Promise((r) => p.on("exit", r));
  return {
    ready: async () => { for (let i = 0; i < 100 && !out.includes("ready"); i++) await new Promise((r) => setTimeout(r, 50)); assert.ok(out.includes("ready"), `relay in ${ns}: ${out}`); },
    set: (cmd) => p.stdin.write(`${cmd}\n`),
    stop: async () => { p.stdin.end("quit\n"); await exited; return out; },
  };
}

/** Relays in both namespaces, so both directions of the media path are impaired alike. */
async function relays() {
  const r = [relay(A, IP_B), relay(B, IP_A)];
  for (const x of r) await x.ready();
  return { set: (cmd) => r.forEach((x) => x.set(cmd)), stop: async () => Promise.all(r.map((x) => x.stop())) };
}

/** Random loss of `percent` of UDP packets arriving in each namespace (media only: signaling is
 * TCP). Dropped on the way in, as a network would: a drop on the way out fails the sender's
 * sendto() with EPERM, which no real path does. */
function loss(percent) {
  for (const ns of [A, B]) {
    try { inNs(ns, "nft", "delete", "table", "inet", "simu_faults"); } catch { /* none yet */ }
    if (percent > 0) {
      inNs(ns, "nft", "add", "table", "inet", "simu_faults");
      inNs(ns, "nft", "add", "chain", "inet", "simu_faults", "in", "{ type filter hook input priority 0; }");
      inNs(ns, "nft", "add", "rule", "inet", "simu_faults", "in", "meta", "l4proto", "udp", "numgen", "random", "mod", "100", "<", String(percent), "drop");
    }
  }
}

function cap(kbit) {
  for (const [ns, dev] of [[A, "simu_va"], [B, "simu_vb"]]) {
    try { inNs(ns, "tc", "qdisc", "del", "dev", dev, "root"); } catch { /* none yet */ }
    if (kbit) inNs(ns, "tc", "qdisc", "add", "dev", dev, "root", "tbf", "rate", `${kbit}kbit`, "burst", "16kb", "latency", "300ms");
  }
}

before(async () => {
  for (const ns of [A, B]) { try { sh("ip", "netns", "del", ns); } catch { /* not there */ } sh("ip", "netns", "add", ns); inNs(ns, "ip", "link", "set", "lo", "up"); }
  sh("ip", "link", "add", "simu_va", "netns", A, "type", "veth", "peer", "name", "simu_vb", "netns", B);
  inNs(A, "ip", "addr", "add", `${IP_A}/24`, "dev", "simu_va");
  inNs(B, "ip", "addr", "add", `${IP_B}/24`, "dev", "simu_vb");
  inNs(A, "ip", "link", "set", "simu_va", "up");
  inNs(B, "ip", "link", "set", "simu_vb", "up");
  procs.push(spawn("ip", ["netns", "exec", A, simu, "server", "--listen", `${IP_A}:8787`, "--data", dir], { stdio: "ignore" }));
  for (let i = 0; i < 100; i++) {
    try { inNs(B, "python3", "-c", `import socket; socket.create_connection(("${IP_A}", 8787), 1)`); break; } catch { await new Promise((r) => setTimeout(r, 200)); }
  }
});

after(() => {
  for (const p of procs.reverse()) p.kill("SIGTERM");
  for (const ns of [A, B]) { try { sh("ip", "netns", "del", ns); } catch { /* gone */ } }
  rmSync(dir, { recursive: true, force: true });
});

/** One call from B to A for `seconds`, with `during` run once it is connected. */
async function call(name, seconds, during = async () => {}, extra = []) {
  const ans = spawnIn(A, ["answer", "--user", `${name}_a`, "--server", server, "--media-ip", IP_A, "--json", "--stats-every", "1", "--calls", "1"]);
  await new Promise((r) => setTimeout(r, 1500));
  const c = spawnIn(B, ["call", `${name}_a`, "--user", `${name}_b`, "--video", "--duration", String(seconds), "--json", "--stats-every", "1", "--server", server, "--media-ip", IP_B, ...extra]);
  const started = Date.now();
  while (!c.output().includes("\"connected\"") && Date.now() - started < 20000) await new Promise((r) => setTimeout(r, 200));
  await during();
  const code = await c.exit;
  await ans.exit;
  // SIMU_FAULTS_LOG=DIR keeps both peers' output of each call (with RUST_LOG=call::manager=debug: the rate controller).
  if (process.env.SIMU_FAULTS_LOG) writeFileSync(path.join(process.env.SIMU_FAULTS_LOG, `${name}.log`), `${c.output()}\n--- callee ---\n${ans.output()}`);
  return { code, caller: lastStats(c.output()), callee: lastStats(ans.output()), out: c.output(), series: allStats(c.output()), calleeSeries: allStats(ans.output()) };
}

test("reference: the same call with no faults", async () => {
  const r = await call("clean", 10);
  const s = r.caller;
  console.log(`measure: no faults: received ${s?.video.fps} fps ${s?.video.frameWidth}x${s?.video.frameHeight} at ${s?.video.bitrate} bit/s; sending ${s?.videoOut.bitrate} bit/s (target ${s?.videoOut.targetBitrate}); audio ${s?.audio.concealedFrames} concealed, jitter buffer ${s?.audio.jitterBufferMs} ms`);
  assert.equal(r.code, 0, r.out.slice(-1500));
  assert.ok(s.video.fps >= 25, "full frame rate on a clean link");
});

for (const percent of [5, 15]) {
  test(`${percent}% random loss: the call stays up, video moves, lost audio is concealed`, async () => {
    // The loss starts once the call is up: webrtc 0.21.1's DTLS handshake retries each flight at
    // a fixed 1 s, 7 times, and setting up under 15% loss gave up once in this session's runs.
    try {
      const r = await call(`loss${percent}`, 12, async () => loss(percent));
      const s = r.caller;
      console.log(`measure: ${percent}% loss: received ${s?.video.fps} fps ${s?.video.frameWidth}x${s?.video.frameHeight} at ${s?.video.bitrate} bit/s; audio ${s?.audio.framesDecoded} frames, ${s?.audio.concealedFrames} concealed, ${s?.audio.fecRecovered} rebuilt from FEC, jitter buffer ${s?.audio.jitterBufferMs} ms; NACKs ${s?.video.nackCount}; sending ${s?.videoOut.bitrate} bit/s (target ${s?.videoOut.targetBitrate})`);
      assert.equal(r.code, 0, r.out.slice(-1500));
      assert.ok(s.video.fps >= 5, "video keeps moving");
      assert.ok(s.audio.concealedFrames + s.audio.fecRecovered > 0, "losses were concealed or rebuilt");
      assert.ok(s.audio.framesDecoded > 300, "audio kept playing");
    } finally {
      loss(0);
    }
  });
}

for (const kbit of LONG ? [300, 1000, 2500] : [300, 1000]) {
  test(`a ${kbit} kbit/s cap: the send rate settles under it, filling most of it, and video keeps moving`, async () => {
    cap(kbit);
    try {
      const secs = LONG ? 30 : 18;
      // The medium preset sends at most ~1.1 Mbit/s: a wider link is for the good preset (2 Mbit/s).
      const r = await call(`cap${kbit}`, secs, undefined, kbit > 1000 ? ["--quality", "good"] : []);
      const s = r.caller;
      const rate = sendRate(r.series, 10);
      const allowed = allowedRate(r.series, 10);
      const first = r.series.findIndex((x) => x.videoOut.bitrate + x.audioOut.bitrate >= 0.75 * kbit * 1000);
      console.log(`measure: ${kbit} kbit/s cap: sending ${Math.round(rate / 1000)} kbit/s after 10 s (${Math.round(rate / kbit / 10)}% of the cap; first at 75% after ${first} s; the controller allowed ${Math.round(allowed / kbit / 10)}%), estimate ${s?.videoOut.availableBitrate} (${s?.videoOut.estimator}), video ${s?.videoOut.frameWidth}x${s?.videoOut.frameHeight}; receiving ${s?.video.fps} fps ${s?.video.frameWidth}x${s?.video.frameHeight}`);
      console.log(`measure: ${kbit} kbit/s cap, kbit/s sent per second: ${r.series.map((x) => Math.round((x.videoOut.bitrate + x.audioOut.bitrate) / 1000)).join(" ")}`);
      simuUtilisation.set(kbit, rate / (kbit * 1000));
      assert.equal(r.code, 0, r.out.slice(-1500));
      assert.ok(rate <= kbit * 1000 * 1.05, `sends under the cap: ${rate}`);
      assert.ok(usesLink(rate, allowed, kbit * 1000), `uses the link (goal 75-95%): sent ${rate}, allowed ${allowed}`);
      // Over the settled part of the call, not one sample: a size change under the cap (the
      // sender steps between 640x360 and 320x180) may leave one second without a picture.
      const fps = r.series.slice(10).map((x) => x.video.fps).sort((a, b) => a - b);
      const medianFps = fps.length ? fps[Math.floor(fps.length / 2)] : 0;
      assert.ok(medianFps >= 10, `video keeps moving: median ${medianFps} fps after 10 s (${r.series.map((x) => x.video.fps).join(" ")})`);
    } finally {
      cap(0);
    }
  });
}

test("Chromium sending through the same caps: its controller (GoogCC) beside Simu's, one link, one run", async () => {
  const kbits = LONG ? [300, 1000, 2500] : [300];
  const secs = LONG ? 30 : 20;
  // The browser peer's page is served from namespace A (beside the server), Chromium runs in B.
  const site = spawn("ip", ["netns", "exec", A, "node", path.join(import.meta.dirname, "site.mjs"), server, IP_A], { stdio: ["ignore", "pipe", "pipe"] });
  procs.push(site);
  const origin = await new Promise((resolve, reject) => {
    let out = "";
    site.stdout.on("data", (d) => { out += d; const line = out.split("\n").find((l) => l.startsWith("http://")); if (line) resolve(line.trim()); });
    site.on("exit", () => reject(new Error(`site ended: ${out}`)));
  });
  const wrapper = path.join(dir, "chromium-in-ns.sh");
  writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${B} ${process.env.CHROMIUM ?? "/usr/bin/chromium"} "$@"\n`, { mode: 0o755 });
  const { chromium } = createRequire(path.join(root, "tests/interop/package.json"))("playwright-core");
  const browser = await chromium.launch({
    executablePath: wrapper,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream=fps=30", "--autoplay-policy=no-user-gesture-required",
      "--disable-features=WebRtcHideLocalIpsWithMdns", `--unsafely-treat-insecure-origin-as-secure=${origin}`],
  });
  const keys = JSON.parse(readFileSync(path.join(dir, "tenant.json"), "utf8"));
  const lines = [];
  try {
    for (const kbit of kbits) {
      cap(kbit);
      const name = `gcc${kbit}`;
      const ans = spawnIn(A, ["answer", "--user", `${name}_a`, "--server", server, "--media-ip", IP_A, "--json", "--stats-every", "1", "--calls", "1"]);
      await new Promise((r) => setTimeout(r, 1500));
      const t = JSON.parse(execFileSync("ip", ["netns", "exec", B, simu, "token", "--server", server, "--user", `${name}_b`], { env: { ...process.env, SIMU_DATA_DIR: dir } }).toString());
      const page = await browser.newPage();
      await page.goto(`${origin}/`);
      await page.waitForFunction(() => window.Peer);
      await page.evaluate(async (cfg) => { window.peer = new window.Peer(cfg); await window.peer.connect(); },
        { nxws: t.nxws, jid: t.jid, token: t.token, rest: origin, apiKey: keys.api_key, secretKey: keys.secret_key, codec: "h264" });
      await page.evaluate((to) => window.peer.call(to), `${name}_a@${t.jid.split("@")[1].split("/")[0]}`);
      const deadline = Date.now() + (secs + 30) * 1000;
      let tl = [];
      while (tl.length < secs && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 1000));
        tl = (await page.evaluate(() => window.peer.stats())).timeline ?? [];
      }
      await page.evaluate(() => window.peer.hangUp());
      await page.close();
      await ans.exit;
      // Chromium's send rate (video + audio payload) second by second, from its own counters.
      const rates = tl.slice(1).map((x, i) => ((x.bytesSent ?? 0) + (x.audioBytesSent ?? 0) - (tl[i].bytesSent ?? 0) - (tl[i].audioBytesSent ?? 0)) * 8);
      const late = rates.slice(9);
      const chromeShare = late.length ? late.reduce((a, b) => a + b, 0) / late.length / (kbit * 1000) : 0;
      const simuShare = simuUtilisation.get(kbit);
      lines.push(`${kbit} kbit/s: Chromium ${Math.round(chromeShare * 100)}%, Simu ${simuShare === undefined ? "not measured" : `${Math.round(simuShare * 100)}%`}`);
      console.log(`measure: Chromium through a ${kbit} kbit/s cap, kbit/s sent per second: ${rates.map((r) => Math.round(r / 1000)).join(" ")}; last ${tl.at(-1)?.width}x${tl.at(-1)?.height}@${tl.at(-1)?.fps} (${tl.at(-1)?.reason}), estimate ${Math.round((tl.at(-1)?.availableOutgoingBitrate ?? 0) / 1000)} kbit/s`);
      assert.ok(tl.length >= secs / 2, `the Chromium call ran: ${tl.length} samples`);
    }
  } finally {
    cap(0);
    await browser.close();
    site.kill("SIGTERM");
  }
  console.log(`measure: link use after 10 s under the same caps (send rate / cap): ${lines.join("; ")}`);
});

test("a cap that lifts: the link is used again within 10 s", async () => {
  cap(300);
  try {
    const r = await call("lift", LONG ? 30 : 24, async () => {
      await new Promise((res) => setTimeout(res, 8000));
      cap(0);
    });
    const before = sendRate(r.series, 4, 8), after = sendRate(r.series, 18), allowed = allowedRate(r.series, 18);
    console.log(`measure: cap lifted at 8 s: ${Math.round(before / 1000)} kbit/s before, ${Math.round(after / 1000)} kbit/s from 10 s after (the controller allowed ${Math.round(allowed / 1000)}); per second: ${r.series.map((x) => Math.round((x.videoOut.bitrate + x.audioOut.bitrate) / 1000)).join(" ")}`);
    assert.equal(r.code, 0, r.out.slice(-1500));
    assert.ok(usesLink(after, allowed, 1_200_000), `the freed link is used again (goal: the user's full rate): sent ${after}, allowed ${allowed}`);
  } finally {
    cap(0);
  }
});

test("100 +- 50 ms jitter for 10 s: the call stays up, audio and video keep playing, the jitter buffer shrinks again", async () => {
  const net = await relays();
  try {
    const r = await call("jitter", 28, async () => {
      await new Promise((res) => setTimeout(res, 5000));
      net.set("delay 100 jitter 50");
      await new Promise((res) => setTimeout(res, 10000));
      net.set("delay 0 jitter 0");
    });
    const jb = r.series.map((x) => x.audio.jitterBufferMs);
    const fps = r.series.map((x) => x.video.fps);
    const audio = r.series.map((x) => x.audio.framesDecoded);
    const during = jb.slice(8, 15), end = jb.slice(-3);
    console.log(`measure: 100+-50 ms jitter: jitter buffer ms per second ${jb.join(" ")}; video fps ${fps.join(" ")}; concealed ${r.caller?.audio.concealedFrames}`);
    assert.equal(r.code, 0, r.out.slice(-1500));
    assert.ok(Math.max(...during) >= 60, `the buffer grew to ride out the jitter: ${jb}`);
    assert.ok(Math.max(...end) < Math.max(...during), `and shrank once it ended: ${jb}`);
    assert.ok(Math.max(...jb) <= 500, `the delay stayed bounded: ${jb}`);
    assert.ok(fps.slice(7, 15).every((f) => f >= 5), `video kept moving through the jitter: ${fps}`);
    assert.ok(audio.at(-1) - audio[5] >= 50 * 15, `audio kept playing: ${audio}`);
  } finally {
    await net.stop();
  }
});

test("300 ms one-way delay: the call sets up and stays up, audio and video keep playing", async () => {
  const net = await relays();
  net.set("delay 300");
  try {
    const r = await call("delay", 15);
    const s = r.caller;
    console.log(`measure: 300 ms one-way: rtt ${s?.rttMs} ms, video ${s?.video.fps} fps ${s?.video.frameWidth}x${s?.video.frameHeight}, audio ${s?.audio.framesDecoded} frames, jitter buffer ${s?.audio.jitterBufferMs} ms, sending ${s?.videoOut.bitrate} bit/s (${s?.videoOut.estimator})`);
    assert.equal(r.code, 0, r.out.slice(-1500));
    assert.ok(s.video.fps >= 15, `video moves: ${s.video.fps}`);
    assert.ok(s.audio.jitterBufferMs <= 200, `no delay added on top of the path's: ${s.audio.jitterBufferMs}`);
    assert.ok(s.videoOut.bitrate >= 500_000, `a delay is not congestion: ${s.videoOut.bitrate}`);
  } finally {
    await net.stop();
  }
});

test("set-up over 15% loss from the first packet: calls connect (DTLS that gives up is set up again)", async () => {
  const tries = LONG ? 20 : 4;
  loss(15);
  const results = [];
  try {
    for (let i = 0; i < tries; i++) {
      const started = Date.now();
      const r = await call(`lossy_setup${i}`, 4);
      const connected = r.out.includes("\"connected\"");
      results.push({ ok: r.code === 0 && connected, secs: (Date.now() - started) / 1000 });
    }
  } finally {
    loss(0);
  }
  const ok = results.filter((x) => x.ok).length;
  console.log(`measure: set-up over 15% loss: ${ok} of ${tries} calls connected (goal 19 of 20); seconds per try ${results.map((x) => x.secs.toFixed(1)).join(" ")}`);
  assert.ok(ok >= Math.ceil(tries * 0.75), `${ok} of ${tries} connected`);
});

test("the link goes down for 4 s and comes back: the call recovers without user action", async () => {
  const r = await call("flap", 16, async () => {
    await new Promise((res) => setTimeout(res, 3000));
    inNs(B, "ip", "link", "set", "simu_vb", "down");
    await new Promise((res) => setTimeout(res, 4000));
    inNs(B, "ip", "link", "set", "simu_vb", "up");
  });
  const s = r.caller;
  console.log(`measure: link down 4 s: after recovery ${s?.video.fps} fps, ${s?.video.framesReceived} frames in all`);
  assert.equal(r.code, 0, r.out.slice(-2000));
  assert.ok(s.video.fps >= 5, "video moves again after the outage");
});
