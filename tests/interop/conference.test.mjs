// Chromium's own WebRTC as one member of a 3-member group call on the conference server (a real
// Janus VideoRoom) beside two Simu CLIs, through simu-server: every member decodes every other
// member's audio and video (6 directed streams). The browser side is crates/cli/src/bench/call/
// member.js (NX over XMPP-WebSocket + the Janus WebSocket API). Run by scripts/interop-sfu.sh beside a Janus in a
// network namespace of its own (scripts/janus-netns.sh), which names it in SIMU_JANUS_*.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { decodedBy, peerConfig, startChromiumRig } from "./common.mjs";

/** Seconds the call runs once connected. */
const CALL_SECS = 20;

let simu, site, browser, rig;

before(async () => {
  assert.ok(process.env.SIMU_JANUS_URL, "a Janus is named by SIMU_JANUS_URL (scripts/interop-sfu.sh)");
  rig = await startChromiumRig();
  ({ simu, site, browser } = rig);
});

after(() => rig?.stop());

test("Chromium and two Simu members in a conference call: all six streams decoded", async () => {
  const bare = (u) => simu.token(u).jid.split("/")[0];
  const [simuA, simuB] = [bare("conf_simu_a"), bare("conf_simu_b")];
  const b = simu.run(["answer", "--user", "conf_simu_b", "--json", "--calls", "1", "--stats-every", "1"]);
  const t = simu.token("conf_chrome");
  const chrome = t.jid.split("/")[0];
  const page = await browser.newPage();
  page.on("console", (m) => { if (m.type() === "error") console.log(`browser: ${m.text()}`); });
  await page.goto(`${site.origin}/`);
  await page.waitForFunction(() => window.Peer);
  await page.addScriptTag({ url: "/member.js", type: "module" });
  await page.waitForFunction(() => window.Member);
  await page.evaluate(async (cfg) => { window.peer = new window.Member(cfg); await window.peer.connect(); }, peerConfig(t, site.origin));
  await new Promise((r) => setTimeout(r, 1000));
  const a = simu.run(["call", simuB, chrome, "--sfu", "--video", "--user", "conf_simu_a", "--duration", String(CALL_SECS), "--json", "--stats-every", "1"]);
  const stats = () => page.evaluate(() => window.peer.stats());
  const code = await a.exit;
  const seen = await stats();
  await page.evaluate(() => window.peer.hangUp());
  const bCode = await Promise.race([b.exit, new Promise((r) => setTimeout(() => r("still in the call 30 s after the others left"), 30000))]);
  const [fromA, fromB] = [decodedBy(a.output()), decodedBy(b.output())];
  const line = (d) => Object.entries(d).map(([k, v]) => `${k.split("@")[0]} ${v.video ?? v.videoFrames} frames ${v.audio ?? v.audioSamples} audio`).join(", ");
  console.log(`measure: conference with Chromium: Simu A decoded ${line(fromA)}; Simu B decoded ${line(fromB)}; Chromium decoded ${line(seen.members)} (sent ${seen.sent.video} video frames)`);
  const context = `\nA: ${a.output().slice(-1500)}\nB: ${b.output().slice(-1500)}\nChromium: ${JSON.stringify(seen)}`;
  assert.equal(code, 0, `Simu A's call connected and ended normally${context}`);
  assert.equal(bCode, 0, `Simu B's call ended normally once the others left${context}`);
  for (const [name, got, from] of [["Simu A", fromA, [simuB, chrome]], ["Simu B", fromB, [simuA, chrome]]]) {
    for (const who of from) {
      assert.ok(got[who]?.video > 60, `${name} decoded ${who}'s video${context}`);
      assert.ok(got[who]?.audio > 100, `${name} decoded ${who}'s audio${context}`);
    }
  }
  for (const who of [simuA, simuB]) {
    assert.ok(seen.members[who]?.videoFrames > 60, `Chromium decoded ${who}'s video${context}`);
    assert.ok(seen.members[who]?.audioSamples > 48000, `Chromium decoded ${who}'s audio${context}`);
  }
  await page.close();
});
