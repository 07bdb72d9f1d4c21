// Simu and Firefox ESR's own WebRTC in one call, both ways, through simu-server. Debian's
// Firefox has no H.264 (it would download OpenH264 from the network), so Simu, offering H.264
// first and VP8 second by default, must end up on VP8 by negotiation alone. Firefox is driven
// over Marionette; run by scripts/interop-firefox.sh inside a loopback-only network namespace.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort, waitPort } from "../js/net.mjs";
import { Marionette } from "../js/marionette.mjs";
import { BROWSER_CALL_SECS, decodedBy, lastStats, peerConfig, senderVerdict, startSimu, startSite, until } from "./common.mjs";

let simu, site, firefox, ff, profile;

before(async () => {
  simu = await startSimu();
  site = await startSite(simu.server);
  profile = mkdtempSync(path.join(tmpdir(), "simu-firefox-"));
  const port = await freePort();
  const prefs = {
    "marionette.port": port,
    "media.navigator.streams.fake": true,
    "media.navigator.permission.disabled": true,
    "media.peerconnection.ice.loopback": true,
    "media.peerconnection.ice.obfuscate_host_addresses": false,
    // Without this, a page that has not used the camera yet gathers only the default route's
    // address, and a loopback-only namespace has no default route.
    "media.peerconnection.ice.default_address_only": false,
    "media.autoplay.default": 0,
    "media.autoplay.blocking_policy": 0,
    "browser.shell.checkDefaultBrowser": false,
    "browser.startup.homepage_override.mstone": "ignore",
    "datareporting.policy.dataSubmissionEnabled": false,
    "toolkit.telemetry.reportingpolicy.firstRun": false,
    "app.update.disabledForTesting": true,
    "network.captive-portal-service.enabled": false,
    "network.connectivity-service.enabled": false,
  };
  writeFileSync(path.join(profile, "user.js"), Object.entries(prefs).map(([k, v]) => `user_pref(${JSON.stringify(k)}, ${JSON.stringify(v)});`).join("\n"));
  firefox = spawn(process.env.FIREFOX ?? "/usr/bin/firefox-esr", ["--headless", "--marionette", "--no-remote", "--profile", profile, "about:blank"], { stdio: "ignore", env: { ...process.env, MOZ_CRASHREPORTER_DISABLE: "1" } });
  await waitPort(port, 60000);
  ff = await Marionette.connect(port);
  await ff.command("WebDriver:NewSession", { capabilities: { alwaysMatch: { acceptInsecureCerts: true } } });
});

after(async () => {
  try { await ff?.command("Marionette:Quit", { flags: ["eForceQuit"] }); } catch { /* already gone */ }
  ff?.close();
  firefox?.kill("SIGTERM");
  site?.close();
  simu?.stop();
  rmSync(profile, { recursive: true, force: true });
});

/** Opens the peer page in Firefox signed in as `user`; returns its NX ID. */
async function browserPeer(user) {
  const t = simu.token(user);
  await ff.command("WebDriver:Navigate", { url: `${site.origin}/` });
  await until("the peer page", () => ff.exec("function () { return !!window.Peer; }"), 20000);
  await ff.exec("async function (cfg) { window.peer = new window.Peer(cfg); await window.peer.connect(); return true; }", peerConfig(t, site.origin, "vp8"));
  return t.jid;
}

const stats = () => ff.exec("async function () { return await window.peer.stats(); }");

/** Opens a call link in Firefox, types `name` and presses Join (or Ask to join). */
async function joinAs(url, name) {
  await ff.command("WebDriver:Navigate", { url });
  await until("the join form", () => ff.exec("function () { return !!document.querySelector('form input[autocomplete=name]'); }"), 20000);
  await ff.exec(`function (name) {
    const i = document.querySelector('form input[autocomplete=name]');
    i.value = name; i.dispatchEvent(new Event('input', { bubbles: true }));
    return true; }`, name);
  await until("the join button enabled", () => ff.exec("function () { const b = document.querySelector('button[type=submit]'); return b && !b.disabled; }"));
  await ff.exec("function () { document.querySelector('button[type=submit]').click(); return true; }");
}

test("Simu calls Firefox: VP8 is negotiated and both decode the other's audio and video", async () => {
  const jid = await browserPeer("firefox_a");
  const c = simu.run(["call", jid, "--user", "simu_ff_a", "--video", "--duration", String(BROWSER_CALL_SECS), "--json"]);
  const code = await c.exit;
  const s = lastStats(c.output());
  const b = await stats();
  console.log(`measure: Simu->Firefox: Simu decoded ${s?.video.framesReceived} frames ${s?.video.frameWidth}x${s?.video.frameHeight} (${s?.codec}), ${s?.audio.framesDecoded} audio frames; Firefox decoded ${b.video.framesDecoded} frames ${b.video.width}x${b.video.height} (${b.video.codec}), ${b.audio.samples} audio samples`);
  assert.equal(code, 0, `the call connected and ended normally:\n${c.output().slice(-2000)}\n${JSON.stringify(b)}`);
  assert.ok(s.codec.startsWith("VP8"), `Simu fell back to VP8: ${s.codec}`);
  assert.ok(s.video.framesReceived > 60, "Simu decoded Firefox's video");
  assert.ok(s.audio.framesDecoded > 100, "Simu decoded Firefox's audio");
  assert.ok(b.video.framesDecoded > 60, `Firefox decoded Simu's video: ${JSON.stringify(b)}`);
  assert.ok(b.audio.samples > 48000, "Firefox decoded Simu's audio");
  const v = senderVerdict("Firefox->Simu (Simu called)", b, s);
  assert.ok(v.ok, `Firefox sent Simu at least 960x540 at 24 fps after 10 s (or was CPU-bound): ${JSON.stringify(v.timeline)}`);
  assert.ok(v.plis <= 8, `Simu asked for few keyframes in a clean call: ${v.plis}`);
});

test("Firefox calls Simu: both decode the other's audio and video", async () => {
  const a = simu.run(["answer", "--user", "simu_ff_b", "--json", "--calls", "1"]);
  const simuJid = simu.token("simu_ff_b").jid.split("/")[0];
  await browserPeer("firefox_b");
  await new Promise((r) => setTimeout(r, 1000));
  await ff.exec("async function (to) { await window.peer.call(to); return true; }", simuJid);
  await until("Firefox decoding Simu's video", async () => { const s = await stats(); return s.video.framesDecoded > 60 ? s : null; }, 30000);
  await until("a full call", async () => ((await stats()).timeline?.length ?? 0) >= BROWSER_CALL_SECS, (BROWSER_CALL_SECS + 15) * 1000);
  await ff.exec("async function () { await window.peer.hangUp(); return true; }");
  const b = await stats();
  assert.equal(await a.exit, 0, a.output().slice(-2000));
  const s = lastStats(a.output());
  console.log(`measure: Firefox->Simu: Firefox decoded ${b.video.framesDecoded} frames (${b.video.codec}), ${b.audio.samples} audio samples; Simu decoded ${s?.video.framesReceived} frames ${s?.video.frameWidth}x${s?.video.frameHeight} (${s?.codec}), ${s?.audio.framesDecoded} audio frames`);
  assert.ok(b.audio.samples > 48000, "Firefox decoded Simu's audio");
  assert.ok(s && s.video.framesReceived > 60, `Simu decoded Firefox's video: ${a.output().slice(-1500)}`);
  assert.ok(s.audio.framesDecoded > 100, "Simu decoded Firefox's audio");
  const v = senderVerdict("Firefox->Simu (Firefox called)", b, s);
  assert.ok(v.ok, `Firefox sent Simu at least 960x540 at 24 fps after 10 s (or was CPU-bound): ${JSON.stringify(v.timeline)}`);
  assert.ok(v.plis <= 8, `Simu asked for few keyframes in a clean call: ${v.plis}`);
});

test("Firefox opens a call link made by the CLI, joins as a guest, and both decode audio and video", async () => {
  const answer = simu.run(["answer", "--user", "simu_ff_link", "--json", "--calls", "1"]);
  await new Promise((r) => setTimeout(r, 1500));
  const made = simu.run(["link", "create", "--user", "simu_ff_link", "--json"]);
  assert.equal(await made.exit, 0, made.output());
  const { url } = JSON.parse(made.output().trim().split("\n").at(-1));
  await joinAs(url, "Fox");
  const b = await until("Firefox decoding Simu's audio and video", async () => {
    const st = await ff.exec("async function () { return window.simuCall ? await window.simuCall.stats() : null; }");
    if (st?.phase === "failed") throw new Error("the guest's call failed");
    return st && st.video.framesDecoded > 60 && st.audio.samples > 48000 ? st : null;
  }, 30000);
  // A few seconds more, so Simu has decoded the guest's stream well past its start.
  await new Promise((r) => setTimeout(r, 3000));
  await ff.exec("function () { [...document.querySelectorAll('button')].find((x) => x.textContent === 'Hang up').click(); return true; }");
  assert.equal(await answer.exit, 0, answer.output().slice(-2000));
  const s = lastStats(answer.output());
  console.log(`measure: Firefox guest by link: Firefox decoded ${b.video.framesDecoded} frames ${b.video.width}x${b.video.height}, ${b.audio.samples} audio samples; Simu decoded ${s?.video.framesReceived} frames (${s?.codec}), ${s?.audio.framesDecoded} audio frames`);
  assert.ok(s && s.video.framesReceived > 30, `Simu decoded the guest's video: ${answer.output().slice(-1500)}`);
  assert.ok(s.audio.framesDecoded > 50, "Simu decoded the guest's audio");
});

test("Firefox knocks on a room link while its owner is in a call with another Simu CLI, is let in, and all three decode each other", async () => {
  const made = simu.run(["link", "create", "--user", "simu_ff_room", "--json"]);
  assert.equal(await made.exit, 0, made.output());
  const { url } = JSON.parse(made.output().trim().split("\n").at(-1));
  const owner = simu.run(["answer", "--user", "simu_ff_room", "--json", "--calls", "1", "--stats-every", "1", "--knocks", "admit"]);
  await new Promise((r) => setTimeout(r, 1500));
  const caller = simu.run(["call", "simu_ff_room", "--user", "simu_ff_other", "--video", "--duration", "30", "--json", "--stats-every", "1"]);
  await until("the two Simu CLIs in a call", () => caller.output().includes("\"media_connected\""), 30000);
  await joinAs(url, "Fox");
  const b = await until("Firefox decoding both Simu members", async () => {
    const st = await ff.exec("async function () { return window.simuCall ? await window.simuCall.stats() : null; }");
    if (st?.phase === "failed" || st?.phase === "declined") throw new Error(`the guest's call ${st.phase}`);
    return st && st.members.length === 2 && st.members.every((m) => m.framesDecoded > 30 && m.samples > 24000) ? st : null;
  }, 40000);
  // A few seconds more, so both Simu members decode the guest well past its start.
  await new Promise((r) => setTimeout(r, 4000));
  await ff.exec("function () { [...document.querySelectorAll('button')].find((x) => x.textContent === 'Hang up').click(); return true; }");
  assert.equal(await caller.exit, 0, caller.output().slice(-2000));
  assert.equal(await owner.exit, 0, owner.output().slice(-2000));
  const guestOf = (out) => Object.entries(decodedBy(out)).find(([id]) => id.startsWith("guest-"))?.[1];
  const [byCaller, byOwner] = [guestOf(caller.output()), guestOf(owner.output())];
  console.log(`measure: Firefox group by link: Firefox decoded ${b.members.map((m) => `${m.jid.split("@")[0]} ${m.framesDecoded} frames/${m.samples} samples`).join(", ")}; the Simu members decoded the guest ${JSON.stringify(byCaller)} and ${JSON.stringify(byOwner)}`);
  assert.ok(byCaller && byCaller.video > 30 && byCaller.audio > 50, `the caller decoded the guest: ${JSON.stringify(decodedBy(caller.output()))}`);
  assert.ok(byOwner && byOwner.video > 30 && byOwner.audio > 50, `the owner decoded the guest: ${JSON.stringify(decodedBy(owner.output()))}`);
});
