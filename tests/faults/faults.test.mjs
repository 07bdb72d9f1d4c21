// A call between two Simu peers in two network namespaces joined by a veth pair, with faults
// made by the test: random UDP loss (nftables), a bandwidth cap (tbf), and the link going down
// and up. The server and the answering peer live in `simu_fa`, the caller in `simu_fb`.
// Run as root by scripts/faults.sh; nothing leaves the two namespaces.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
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

function lastStats(out) {
  const lines = out.split("\n").filter((l) => l.startsWith("{") && l.includes("\"videoOut\""));
  return lines.length ? JSON.parse(lines.at(-1)) : null;
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
async function call(name, seconds, during = async () => {}) {
  const ans = spawnIn(A, ["answer", "--user", `${name}_a`, "--server", server, "--media-ip", IP_A, "--json", "--calls", "1"]);
  await new Promise((r) => setTimeout(r, 1500));
  const c = spawnIn(B, ["call", `${name}_a`, "--user", `${name}_b`, "--video", "--duration", String(seconds), "--json", "--server", server, "--media-ip", IP_B]);
  const started = Date.now();
  while (!c.output().includes("\"connected\"") && Date.now() - started < 20000) await new Promise((r) => setTimeout(r, 200));
  await during();
  const code = await c.exit;
  await ans.exit;
  // SIMU_FAULTS_LOG=DIR keeps both peers' output of each call (with RUST_LOG=call::manager=debug: the rate controller).
  if (process.env.SIMU_FAULTS_LOG) writeFileSync(path.join(process.env.SIMU_FAULTS_LOG, `${name}.log`), `${c.output()}\n--- callee ---\n${ans.output()}`);
  return { code, caller: lastStats(c.output()), callee: lastStats(ans.output()), out: c.output() };
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

test("a 300 kbit/s cap: the bitrate controller settles under it and video keeps moving", async () => {
  cap(300);
  try {
    const r = await call("cap", 15);
    const s = r.caller;
    console.log(`measure: 300 kbit/s cap: sending ${s?.videoOut.bitrate} bit/s video + ${s?.audioOut.bitrate} audio (target ${s?.videoOut.targetBitrate}) at ${s?.videoOut.frameWidth}x${s?.videoOut.frameHeight}; receiving ${s?.video.fps} fps ${s?.video.frameWidth}x${s?.video.frameHeight}`);
    assert.equal(r.code, 0, r.out.slice(-1500));
    assert.ok(s.videoOut.targetBitrate + s.audioOut.targetBitrate <= 300_000, `the encoder aims under the cap: ${JSON.stringify(s.videoOut)}`);
    assert.ok(s.videoOut.bitrate + s.audioOut.bitrate <= 330_000, "and sends under it");
    assert.ok(s.video.fps >= 5, "video keeps moving");
  } finally {
    cap(0);
  }
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
