// Simu and Chromium's own WebRTC in one call, both ways, through simu-server: the browser side
// is tests/interop/peer.js (NX over XMPP-WebSocket + RTCPeerConnection), Simu is the `simu` CLI.
// Run by scripts/interop-chromium.sh inside a network namespace that has only loopback.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort, waitPort } from "../js/net.mjs";
import { chromium } from "playwright-core";

const root = path.resolve(import.meta.dirname, "../..");
const simu = process.env.SIMU_CLI ?? path.join(root, "target/debug/simu");
const dir = mkdtempSync(path.join(tmpdir(), "simu-interop-"));
const procs = [];
let server, page, browser, http;



function run(args) {
  const p = spawn(simu, [...args, "--server", server, "--media-ip", "127.0.0.1"], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  p.stdout.on("data", (d) => (out += d));
  p.stderr.on("data", (d) => (out += d));
  procs.push(p);
  return { output: () => out, exit: new Promise((r) => p.on("exit", (code) => r(code))) };
}

/** The last JSON line of a CLI's output that carries stats. */
function lastStats(out) {
  const lines = out.split("\n").filter((l) => l.startsWith("{") && l.includes("\"videoOut\""));
  return lines.length ? JSON.parse(lines.at(-1)) : null;
}

async function until(what, f, ms = 20000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

before(async () => {
  const port = await freePort();
  server = `http://127.0.0.1:${port}`;
  procs.push(spawn(simu, ["server", "--listen", `127.0.0.1:${port}`, "--data", dir], { stdio: "ignore" }));
  await waitPort(port);
  // The page and, under /api/, simu-server's REST API on one origin (the server sends no CORS headers).
  http = createServer(async (req, res) => {
    if (req.url?.startsWith("/api/")) {
      const body = await new Promise((r) => { let b = ""; req.on("data", (d) => (b += d)); req.on("end", () => r(b)); });
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k.startsWith("x-") || k === "content-type"));
      const upstream = await fetch(`${server}${req.url}`, { method: req.method, headers, body: req.method === "GET" ? undefined : body });
      res.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "application/json" });
      res.end(Buffer.from(await upstream.arrayBuffer()));
      return;
    }
    const file = req.url?.startsWith("/peer.js") ? "peer.js" : "peer.html";
    res.writeHead(200, { "content-type": file.endsWith(".js") ? "text/javascript" : "text/html" });
    res.end(readFileSync(path.join(import.meta.dirname, file)));
  }).listen(0, "127.0.0.1");
  await new Promise((r) => http.once("listening", r));
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", "--autoplay-policy=no-user-gesture-required", "--allow-loopback-in-peer-connection",
      "--disable-features=WebRtcHideLocalIpsWithMdns"],
  });
});

after(async () => {
  await browser?.close();
  http?.close();
  for (const p of procs.reverse()) p.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
});

async function browserPeer(user, codec) {
  const t = JSON.parse(execFileSync(simu, ["token", "--server", server, "--user", user]).toString());
  page = await browser.newPage();
  page.on("console", (m) => { if (m.type() === "error") console.log(`browser: ${m.text()}`); });
  await page.goto(`http://127.0.0.1:${http.address().port}/`);
  await page.waitForFunction(() => window.Peer);
  await page.evaluate(async (cfg) => { window.peer = new window.Peer(cfg); await window.peer.connect(); },
    { nxws: t.nxws, jid: t.jid, token: t.token, rest: `http://127.0.0.1:${http.address().port}`, apiKey: "simu-local-key", secretKey: "simu-local-secret", codec });
  return t.jid;
}

const stats = () => page.evaluate(() => window.peer.stats());

for (const codec of ["h264", "vp8"]) {
  test(`Simu calls Chromium (${codec}): both decode the other's audio and video`, async () => {
    const jid = await browserPeer(`chrome_${codec}_a`, codec);
    const c = run(["call", jid, "--user", `simu_${codec}_a`, "--codecs", codec, "--video", "--duration", "8", "--json"]);
    const code = await c.exit;
    const s = lastStats(c.output());
    const b = await stats();
    console.log(`measure: Simu->Chromium ${codec}: Simu decoded ${s?.video.framesReceived} frames ${s?.video.frameWidth}x${s?.video.frameHeight}, ${s?.audio.framesDecoded} audio frames; Chromium decoded ${b.video.framesDecoded} frames ${b.video.width}x${b.video.height} (${b.video.codec}), ${b.audio.samples} audio samples (${b.audio.codec})`);
    assert.equal(code, 0, `the call connected and ended normally:\n${c.output().slice(-2000)}\n${JSON.stringify(b)}`);
    assert.ok(s.video.framesReceived > 60, "Simu decoded Chromium's video");
    assert.ok(s.audio.framesDecoded > 100, "Simu decoded Chromium's audio");
    assert.ok(b.video.framesDecoded > 60, `Chromium decoded Simu's video: ${JSON.stringify(b)}`);
    assert.equal(b.video.codec?.toLowerCase(), `video/${codec}`, "the preferred codec was negotiated");
    assert.ok(s.codec.toLowerCase().startsWith(codec), `Simu sent ${s.codec}`);
    assert.ok(b.audio.samples > 48000, "Chromium decoded Simu's audio");
    await page.close();
  });

  test(`Chromium calls Simu (${codec}): both decode the other's audio and video`, async () => {
    const a = run(["answer", "--user", `simu_${codec}_b`, "--codecs", codec, "--json", "--calls", "1"]);
    const simuJid = JSON.parse(execFileSync(simu, ["token", "--server", server, "--user", `simu_${codec}_b`]).toString()).jid.split("/")[0];
    await browserPeer(`chrome_${codec}_b`, codec);
    await new Promise((r) => setTimeout(r, 1000));
    await page.evaluate((to) => window.peer.call(to), simuJid);
    await until("Chromium decoding Simu's video", async () => { const s = await stats(); return s.video.framesDecoded > 60 ? s : null; });
    await new Promise((r) => setTimeout(r, 3000));
    await page.evaluate(() => window.peer.hangUp());
    const b = await stats();
    assert.equal(await a.exit, 0, a.output().slice(-2000));
    const s = lastStats(a.output());
    console.log(`measure: Chromium->Simu ${codec}: Chromium decoded ${b.video.framesDecoded} frames (${b.video.codec}), ${b.audio.samples} audio samples; Simu decoded ${s?.video.framesReceived} frames ${s?.video.frameWidth}x${s?.video.frameHeight}, ${s?.audio.framesDecoded} audio frames`);
    assert.ok(b.audio.samples > 48000, "Chromium decoded Simu's audio");
    assert.equal(b.video.codec?.toLowerCase(), `video/${codec}`, "the preferred codec was negotiated");
    assert.ok(s && s.video.framesReceived > 60, `Simu decoded Chromium's video: ${a.output().slice(-1500)}`);
    assert.ok(s.audio.framesDecoded > 100, "Simu decoded Chromium's audio");
    await page.close();
  });
}
