// Simu and Chromium's own WebRTC in one call, both ways, through simu-server: the browser side
// is crates/cli/src/bench/call/peer.js (NX over XMPP-WebSocket + RTCPeerConnection), Simu is the `simu` CLI.
// Run by scripts/interop-chromium.sh inside a network namespace that has only loopback.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { BROWSER_CALL_SECS, lastStats, peerConfig, senderVerdict, startChromiumRig, until } from "./common.mjs";

let simu, site, page, browser, rig;

before(async () => {
  rig = await startChromiumRig();
  ({ simu, site, browser } = rig);
});

after(() => rig?.stop());

async function browserPeer(user, codec) {
  const t = simu.token(user);
  page = await browser.newPage();
  page.on("console", (m) => { if (m.type() === "error") console.log(`browser: ${m.text()}`); });
  await page.goto(`${site.origin}/`);
  await page.waitForFunction(() => window.Peer);
  await page.evaluate(async (cfg) => { window.peer = new window.Peer(cfg); await window.peer.connect(); },
    peerConfig(t, site.origin, codec));
  return t.jid;
}

const stats = () => page.evaluate(() => window.peer.stats());

for (const codec of ["h264", "vp8"]) {
  test(`Simu calls Chromium (${codec}): both decode the other's audio and video`, async () => {
    const jid = await browserPeer(`chrome_${codec}_a`, codec);
    const c = simu.run(["call", jid, "--user", `simu_${codec}_a`, "--codecs", codec, "--video", "--duration", String(BROWSER_CALL_SECS), "--json"]);
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
    const v = senderVerdict(`Chromium->Simu ${codec} (Simu called)`, b, s);
    assert.ok(v.ok, `Chromium sent Simu at least 960x540 at 24 fps after 10 s (or was CPU-bound): ${JSON.stringify(v.timeline)}`);
    assert.ok(v.plis <= 8, `Simu asked for few keyframes in a clean call: ${v.plis}`);
    await page.close();
  });

  test(`Chromium calls Simu (${codec}): both decode the other's audio and video`, async () => {
    const a = simu.run(["answer", "--user", `simu_${codec}_b`, "--codecs", codec, "--json", "--calls", "1"]);
    const simuJid = simu.token(`simu_${codec}_b`).jid.split("/")[0];
    await browserPeer(`chrome_${codec}_b`, codec);
    await new Promise((r) => setTimeout(r, 1000));
    await page.evaluate((to) => window.peer.call(to), simuJid);
    await until("Chromium decoding Simu's video", async () => { const s = await stats(); return s.video.framesDecoded > 60 ? s : null; });
    await until("a full call", async () => ((await stats()).timeline?.length ?? 0) >= BROWSER_CALL_SECS, (BROWSER_CALL_SECS + 15) * 1000);
    await page.evaluate(() => window.peer.hangUp());
    const b = await stats();
    assert.equal(await a.exit, 0, a.output().slice(-2000));
    const s = lastStats(a.output());
    console.log(`measure: Chromium->Simu ${codec}: Chromium decoded ${b.video.framesDecoded} frames (${b.video.codec}), ${b.audio.samples} audio samples; Simu decoded ${s?.video.framesReceived} frames ${s?.video.frameWidth}x${s?.video.frameHeight}, ${s?.audio.framesDecoded} audio frames`);
    assert.ok(b.audio.samples > 48000, "Chromium decoded Simu's audio");
    assert.equal(b.video.codec?.toLowerCase(), `video/${codec}`, "the preferred codec was negotiated");
    assert.ok(s && s.video.framesReceived > 60, `Simu decoded Chromium's video: ${a.output().slice(-1500)}`);
    assert.ok(s.audio.framesDecoded > 100, "Simu decoded Chromium's audio");
    const v = senderVerdict(`Chromium->Simu ${codec} (Chromium called)`, b, s);
    assert.ok(v.ok, `Chromium sent Simu at least 960x540 at 24 fps after 10 s (or was CPU-bound): ${JSON.stringify(v.timeline)}`);
    assert.ok(v.plis <= 8, `Simu asked for few keyframes in a clean call: ${v.plis}`);
    await page.close();
  });
}
