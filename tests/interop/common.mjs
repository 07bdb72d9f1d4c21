// What the browser interop tests share: a simu-server and `simu` CLI runs, and the page of the
// browser NX peer (peer.html + peer.js) served beside a proxy to simu-server's REST API (one
// origin: the server sends no CORS headers).
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import { freePort, waitPort } from "../js/net.mjs";

const root = path.resolve(import.meta.dirname, "../..");
export const simu = process.env.SIMU_CLI ?? path.join(root, "target/debug/simu");
/** The browser NX peer, shipped in the `simu` binary for its Chromium benchmark. */
const PEER_JS = path.join(root, "crates/cli/src/bench/call/peer.js");
/** The browser conference member (NX + Janus), shipped for `simu bench group --chromium`. */
const MEMBER_JS = path.join(root, "crates/cli/src/bench/call/member.js");

/** simu-server on a free loopback port, plus helpers to run the CLI against it. */
export async function startSimu() {
  const dir = mkdtempSync(path.join(tmpdir(), "simu-interop-"));
  const procs = [];
  const port = await freePort();
  const server = `http://127.0.0.1:${port}`;
  procs.push(spawn(simu, ["server", "--listen", `127.0.0.1:${port}`, "--data", dir], { stdio: "ignore" }));
  await waitPort(port);
  // The CLI reads the server's tenant keys from its data directory.
  const env = { ...process.env, SIMU_DATA_DIR: dir };
  return {
    server,
    /** Runs `simu ARGS --server ... --media-ip 127.0.0.1`, collecting its output. */
    run(args) {
      const p = spawn(simu, [...args, "--server", server, "--media-ip", "127.0.0.1"], { env, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      p.stdout.on("data", (d) => (out += d));
      p.stderr.on("data", (d) => (out += d));
      procs.push(p);
      return { output: () => out, exit: new Promise((r) => p.on("exit", (code) => r(code))) };
    },
    /** An NX token for `user` (JSON: jid, token, nxws) with the tenant keys a page needs. */
    token(user) {
      const t = JSON.parse(execFileSync(simu, ["token", "--server", server, "--user", user], { env }).toString());
      const keys = JSON.parse(readFileSync(path.join(dir, "tenant.json"), "utf8"));
      return { ...t, apiKey: keys.api_key, secretKey: keys.secret_key };
    },
    stop() {
      for (const p of procs.reverse()) p.kill("SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Serves the browser peer page (and member.js, the conference member) and proxies /api/ to `server` on `host` (loopback unless a
 * test's network namespace needs another address); resolves with its origin. */
export async function startSite(server, host = "127.0.0.1") {
  const http = createServer(async (req, res) => {
    if (req.url?.startsWith("/api/")) {
      const body = await new Promise((r) => { let b = ""; req.on("data", (d) => (b += d)); req.on("end", () => r(b)); });
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k.startsWith("x-") || k === "content-type"));
      const upstream = await fetch(`${server}${req.url}`, { method: req.method, headers, body: req.method === "GET" ? undefined : body });
      res.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "application/json" });
      res.end(Buffer.from(await upstream.arrayBuffer()));
      return;
    }
    // peer.js ships in the `simu` binary (its Chromium benchmark), so it lives with the CLI.
    const file = req.url?.startsWith("/peer.js") ? PEER_JS
      : req.url?.startsWith("/member.js") ? MEMBER_JS
        : path.join(import.meta.dirname, "peer.html");
    res.writeHead(200, { "content-type": file.endsWith(".js") ? "text/javascript" : "text/html" });
    res.end(readFileSync(file));
  }).listen(0, host);
  await new Promise((r) => http.once("listening", r));
  return { origin: `http://${host}:${http.address().port}`, close: () => http.close() };
}

/** The peer config a page needs to sign in as `t` (from `token`). */
export function peerConfig(t, origin, codec) {
  return { nxws: t.nxws, jid: t.jid, token: t.token, rest: origin, apiKey: t.apiKey, secretKey: t.secretKey, codec };
}

/** The last JSON line of a CLI's output that carries stats. */
export function lastStats(out) {
  const lines = out.split("\n").filter((l) => l.startsWith("{") && l.includes("\"videoOut\""));
  return lines.length ? JSON.parse(lines.at(-1)) : null;
}

/** The most each member decoded from each other member over a CLI's run, by NX ID (its
 * `{"participants": [...]}` lines; a member that left drops out of later lines). */
export function decodedBy(out) {
  const best = {};
  for (const line of out.split("\n").filter((l) => l.startsWith("{\"participants\""))) {
    for (const p of JSON.parse(line).participants) {
      const b = (best[p.nx_id] ??= { video: 0, audio: 0 });
      b.video = Math.max(b.video, p.video_frames);
      b.audio = Math.max(b.audio, p.audio_frames);
    }
  }
  return best;
}

export async function until(what, f, ms = 20000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Seconds a browser call runs, so its sender can ramp up and its verdict is fair. */
export const BROWSER_CALL_SECS = 30;

/**
 * What a browser sent Simu over a call, from its own getStats timeline (`b.timeline`) and Simu's
 * last stats line (`s`): a `measure:` line, and whether it met the bound a loaded 2-core machine
 * keeps: after 10 s at least 960x540 at 24 fps, unless the browser says its limit is the CPU.
 */
export function senderVerdict(label, b, s) {
  const tl = b.timeline ?? [];
  const full = tl.find((x) => x.width >= 1280 && x.height >= 720 && x.fps >= 28);
  const late = tl.filter((x) => x.t >= 10);
  const reasons = [...new Set(tl.map((x) => x.reason).filter(Boolean))];
  const last = tl.at(-1) ?? {};
  const kbps = (x) => (x?.availableOutgoingBitrate ? Math.round(x.availableOutgoingBitrate / 1000) : "?");
  console.log(`measure: ${label}: browser sent ${last.width}x${last.height} at ${last.fps} fps; 1280x720 >= 28 fps ${full ? `at ${full.t.toFixed(0)} s` : "never"}; ` +
    `limitation ${reasons.join(",") || "none"}; availableOutgoingBitrate ${kbps(tl[4])} kbit/s at 5 s, ${kbps(last)} at the end; ` +
    `PLIs from Simu ${last.pli ?? "?"}, NACKs ${last.nack ?? "?"}; Simu decoded ${s?.video.frameWidth}x${s?.video.frameHeight} at ${s?.video.fps} fps`);
  console.log(`measure: ${label} timeline: ${tl.map((x) => `${x.t.toFixed(0)}s ${x.width}x${x.height}@${x.fps ?? 0} ${x.reason} est ${kbps(x)}k target ${x.target ? Math.round(x.target / 1000) : "?"}k pli${x.pli}`).join(" | ")}`);
  const cpuBound = late.some((x) => x.reason === "cpu");
  const good = late.length > 0 && late.slice(-5).every((x) => x.width >= 960 && x.height >= 540 && x.fps >= 24);
  return { ok: good || cpuBound, cpuBound, plis: last.pli ?? 0, timeline: tl };
}

/** Debian's Chromium, headless, with fake camera and microphone, WebRTC on loopback allowed. */
export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream=fps=30", "--autoplay-policy=no-user-gesture-required", "--allow-loopback-in-peer-connection",
      "--disable-features=WebRtcHideLocalIpsWithMdns"],
  });
}

/** simu-server, the peer site in front of it and Chromium, as a Chromium test starts them;
 * `stop` ends all three. */
export async function startChromiumRig() {
  const simu = await startSimu();
  let site;
  let browser;
  try {
    site = await startSite(simu.server);
    browser = await launchChromium();
  } catch (e) {
    site?.close();
    simu.stop();
    throw e;
  }
  return {
    simu, site, browser,
    async stop() {
      await browser.close();
      site.close();
      simu.stop();
    },
  };
}
