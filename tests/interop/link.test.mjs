// Call links (docs/protocol.md §2.2): a browser opens a link made by the `simu` CLI, on the page
// simu-server itself serves (ui/src/web), and joins as a guest; Simu (the CLI) answers. Both
// decode the other's audio and video. Also: the lobby (admit, deny), a guest admitted into its
// owner's call under way with another Simu member (a three-way mesh), the refused links
// (tampered, expired, revoked) and the reference flows' unsigned invitation.
// Run by scripts/interop-link.sh inside a network namespace that has only loopback.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { decodedBy, lastStats, launchChromium, startSimu, until } from "./common.mjs";

let simu, browser;
const root = path.resolve(import.meta.dirname, "../..");
/** Screenshots of every state of the page, light and dark, wide and phone-sized. */
const shots = path.join(root, "target/link-shots");
const axePath = path.join(root, "ui/node_modules/axe-core/axe.min.js");
/** Serious and critical axe-core findings, by state and theme. */
const a11yFindings = [];
const a11yChecked = [];

/** Runs axe-core on the page in its current state, light and dark, and screenshots both. */
async function look(page, state) {
  mkdirSync(shots, { recursive: true });
  await page.addScriptTag({ path: axePath });
  for (const colorScheme of ["light", "dark"]) {
    await page.emulateMedia({ colorScheme });
    await page.waitForTimeout(100);
    const found = await page.evaluate(async () => {
      const r = await window.axe.run(document, { resultTypes: ["violations"] });
      return r.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
        .map((v) => `${v.id} (${v.impact}) ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(" | ")}`);
    });
    a11yChecked.push(`${state} (${colorScheme})`);
    for (const f of found) a11yFindings.push(`${state} (${colorScheme}): ${f}`);
    await page.screenshot({ path: path.join(shots, `${state}-${colorScheme}.png`) });
  }
  await page.emulateMedia({ colorScheme: "light" });
}

before(async () => {
  simu = await startSimu();
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  simu?.stop();
});

/** Runs `simu ARGS` to its end and gives its output, failing on a non-zero exit. */
async function cli(args) {
  const p = simu.run(args);
  const code = await p.exit;
  assert.equal(code, 0, p.output());
  return p.output().trim();
}

/** A per-call link from `owner` for `to` (registered first), or `owner`'s room link. */
async function makeLink(owner, { to, expires } = {}) {
  if (to) await cli(["link", "list", "--user", to]);
  const args = ["link", "create", "--user", owner, "--json", ...(to ? ["--to", to] : []), ...(expires ? ["--expires", expires] : [])];
  return JSON.parse((await cli(args)).split("\n").at(-1));
}

async function openPage(url) {
  // The page's policy forbids injected scripts, axe-core's among them: the test lifts it.
  const page = await browser.newPage({ bypassCSP: true });
  page.on("console", (m) => { if (m.type() === "error") console.log(`browser: ${m.text()}`); });
  await page.goto(url);
  return page;
}

/** Types a name and presses Join; resolves with the ms from the press to the first remote frame. */
async function joinAndTimeFirstFrame(page, name, state) {
  await page.getByLabel("Your name").fill(name);
  await page.waitForSelector("video[aria-label='You']");
  if (state) await look(page, state);
  return page.evaluate(async () => {
    const t0 = performance.now();
    document.querySelector("button[type=submit]").click();
    for (;;) {
      const s = await window.simuCall?.stats();
      if (s && s.video.framesDecoded > 0) return performance.now() - t0;
      if (performance.now() - t0 > 30000) throw new Error(`no remote frame in 30 s: ${JSON.stringify(s)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  });
}

const pageStats = (page) => page.evaluate(() => window.simuCall.stats());

test("a guest opens a per-call link in Chromium, the owner answers, and both decode audio and video", async () => {
  const answer = simu.run(["answer", "--user", "alice", "--json", "--calls", "1"]);
  await new Promise((r) => setTimeout(r, 1500));
  const link = await makeLink("alice", { to: "bob" });
  assert.match(link.url, /\/call\?room=.*&sig=/);
  const page = await openPage(link.url);
  await page.getByRole("heading", { name: "Join alice's call" }).waitFor();
  const ms = await joinAndTimeFirstFrame(page, "Jane", "1-before-joining");
  console.log(`measure: link join: ${ms.toFixed(0)} ms from pressing Join to the first remote frame`);
  const b = await until("Chromium decoding Simu's audio and video", async () => {
    const s = await pageStats(page);
    return s.video.framesDecoded > 60 && s.audio.samples > 48000 ? s : null;
  }, 30000);
  await page.waitForSelector("video.remote");
  await look(page, "3-in-call");
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: path.join(shots, "3-in-call-phone.png") });
  await page.setViewportSize({ width: 1280, height: 720 });
  // A few seconds more, so Simu has decoded the guest's stream well past its start.
  await page.waitForTimeout(3000);
  await page.getByRole("button", { name: "Hang up" }).click();
  await page.getByRole("heading", { name: "Call ended" }).waitFor();
  await look(page, "4-call-ended");
  assert.equal(await answer.exit, 0, answer.output().slice(-2000));
  const s = lastStats(answer.output());
  console.log(`measure: guest call: Chromium decoded ${b.video.framesDecoded} frames ${b.video.width}x${b.video.height}, ${b.audio.samples} audio samples; Simu decoded ${s?.video.framesReceived} frames, ${s?.audio.framesDecoded} audio frames`);
  assert.ok(s && s.video.framesReceived > 30, `Simu decoded the guest's video: ${answer.output().slice(-1500)}`);
  assert.ok(s.audio.framesDecoded > 50, "Simu decoded the guest's audio");
  await page.close();
});

test("a room link knocks: the owner admits one guest and denies the next", async () => {
  const link = await makeLink("carol");
  const admit = simu.run(["answer", "--user", "carol", "--json", "--calls", "1"]);
  await new Promise((r) => setTimeout(r, 1500));
  const page = await openPage(link.url);
  await page.getByRole("heading", { name: "Ask to join carol's room" }).waitFor();
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForSelector("video[aria-label='You']");
  await page.screenshot({ path: path.join(shots, "1-before-joining-phone.png") });
  await page.setViewportSize({ width: 1280, height: 720 });
  await joinAndTimeFirstFrame(page, "Knocker");
  await page.getByRole("button", { name: "Hang up" }).click();
  assert.equal(await admit.exit, 0, admit.output().slice(-2000));
  await page.close();

  const deny = simu.run(["answer", "--user", "carol", "--decline", "--calls", "1", "--ring", "3"]);
  await new Promise((r) => setTimeout(r, 1500));
  const second = await openPage(link.url);
  await second.getByLabel("Your name").fill("Stranger");
  await second.waitForSelector("video[aria-label='You']");
  await second.getByRole("button", { name: "Ask to join" }).click();
  await second.getByRole("heading", { name: "Waiting for carol to let you in…" }).waitFor();
  await look(second, "2-waiting-to-be-let-in");
  await second.getByText("carol did not let you in.").waitFor({ timeout: 20000 });
  await look(second, "5-not-let-in");
  assert.equal(await deny.exit, 0, deny.output().slice(-2000));
  await second.close();
});

test("a guest knocking on a room link while its owner is in a call is admitted into it: three members, all six streams decoded", async () => {
  const link = await makeLink("gbob");
  const owner = simu.run(["answer", "--user", "gbob", "--json", "--calls", "1", "--stats-every", "1", "--knocks", "admit"]);
  await new Promise((r) => setTimeout(r, 1500));
  const caller = simu.run(["call", "gbob", "--user", "galice", "--video", "--duration", "30", "--json", "--stats-every", "1"]);
  await until("galice and gbob in a call", () => caller.output().includes("\"media_connected\""), 30000);
  const page = await openPage(link.url);
  await page.getByLabel("Your name").fill("Jane");
  await page.waitForSelector("video[aria-label='You']");
  await page.getByRole("button", { name: "Ask to join" }).click();
  const b = await until("Chromium decoding both Simu members", async () => {
    const s = await page.evaluate(() => window.simuCall?.stats());
    const ok = s?.members.length === 2 && s.members.every((m) => m.framesDecoded > 30 && m.samples > 24000);
    return ok ? s : null;
  }, 40000);
  await page.getByText("3 people in the call").waitFor();
  await page.waitForFunction(() => document.querySelectorAll("video.remote").length === 2);
  await look(page, "9-group-call");
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: path.join(shots, "9-group-call-phone.png") });
  await page.setViewportSize({ width: 1280, height: 720 });
  // A few seconds more, so both Simu members decode the guest well past its start.
  await page.waitForTimeout(4000);
  await page.getByRole("button", { name: "Hang up" }).click();
  await page.getByRole("heading", { name: "Call ended" }).waitFor();
  assert.equal(await caller.exit, 0, caller.output().slice(-2000));
  assert.equal(await owner.exit, 0, owner.output().slice(-2000));
  const guestOf = (out) => Object.entries(decodedBy(out)).find(([id]) => id.startsWith("guest-"))?.[1];
  const [byAlice, byBob] = [guestOf(caller.output()), guestOf(owner.output())];
  console.log(`measure: group by link: Chromium decoded ${b.members.map((m) => `${m.jid.split("@")[0]} ${m.framesDecoded} frames/${m.samples} samples`).join(", ")}; galice decoded the guest ${JSON.stringify(byAlice)}, gbob ${JSON.stringify(byBob)}`);
  assert.ok(byAlice && byAlice.video > 30 && byAlice.audio > 50, `galice decoded the guest: ${JSON.stringify(decodedBy(caller.output()))}`);
  assert.ok(byBob && byBob.video > 30 && byBob.audio > 50, `gbob decoded the guest: ${JSON.stringify(decodedBy(owner.output()))}`);
  assert.ok(owner.output().includes("\"event\":\"knock\""), "the owner heard the knock");
  await page.close();
});

test("an owner who is offline: the page says so and the owner has a missed call", async () => {
  const link = await makeLink("dave");
  const page = await openPage(link.url);
  await page.getByLabel("Your name").fill("Jane");
  await page.getByRole("button", { name: "Ask to join" }).click();
  await page.getByText("dave is not available right now").waitFor();
  await look(page, "6-owner-away");
  const history = JSON.parse(await cli(["history", "--user", "dave", "--json"]));
  const row = history.results.find((r) => r.peer.startsWith("guest-"));
  assert.equal(row?.status, "missed", JSON.stringify(history));
  await page.close();
});

test("tampered, expired and revoked links get their own page, and an unsigned invitation never joins", async () => {
  const link = await makeLink("erin");
  const refused = async (url, reason) => {
    const page = await openPage(url);
    await page.waitForSelector(`[data-reason="${reason}"]`, { timeout: 10000 });
    if (reason === "revoked") await look(page, "7-link-revoked");
    await page.close();
  };
  await refused(link.url.replace("caller=erin", "caller=mallory"), "tampered");
  await refused(link.url.replace(/exp=(\d+)/, (_, e) => `exp=${Number(e) + 60}`), "tampered");
  const short = await makeLink("erin", { expires: "60s" });
  await refused(short.url.replace(/sig=[0-9a-f]+/, "sig=00"), "tampered");
  await cli(["link", "revoke", "--user", "erin", link.room]);
  await refused(link.url, "revoked");
  const listed = JSON.parse(await cli(["link", "list", "--user", "erin", "--json"]));
  assert.deepEqual(listed.map((l) => l.room), [short.room], "a revoked link is no longer listed");
  const ref = await openPage(`${simu.server}/nexacon-call.html?room=call_1&caller=erin&type=video`);
  await ref.getByRole("link", { name: "Open in Simu" }).waitFor();
  await look(ref, "8-unsigned-invitation");
  assert.equal(await ref.locator("button[type=submit]").count(), 0, "no guest join from an unsigned link");
  await ref.close();
});

test("accessibility: axe-core finds no serious or critical violations on any state of the page, light or dark", () => {
  assert.ok(a11yChecked.length >= 18, `states checked: ${a11yChecked.join(", ")}`);
  assert.deepEqual(a11yFindings, [], a11yFindings.join("\n"));
});
