// End-to-end tests of the real desktop app in a real window (Xvfb), driven through
// tauri-driver + WebKitWebDriver. Screenshots go to target/e2e-shots/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { waitPort } from "../../tests/js/net.mjs";
import { Session } from "./webdriver.mjs";
import { launchChromium, until } from "../../tests/interop/common.mjs";

const root = path.resolve(import.meta.dirname, "../..");
const app = process.env.SIMU_APP ?? path.join(root, "target/debug/simu-desktop");
const simu = process.env.SIMU_CLI ?? path.join(root, "target/debug/simu");
const driver = process.env.TAURI_DRIVER ?? "tauri-driver";
const shots = path.join(root, "target/e2e-shots");
const server = "http://127.0.0.1:8787";
const home = mkdtempSync(path.join(tmpdir(), "simu-e2e-"));
const procs = [];
let s;

const env = { ...process.env, HOME: home, XDG_DATA_HOME: path.join(home, "data"), XDG_STATE_HOME: path.join(home, "state"), WEBKIT_DISABLE_COMPOSITING_MODE: "1" };


/** A screenshot of the whole X display (WebKitWebDriver's own screenshot hangs under Xvfb). */
async function shot(name) {
  execFileSync("import", ["-display", env.DISPLAY, "-window", "root", path.join(shots, `${name}.png`)]);
}

/** A process's CPU seconds so far and its PSS in MiB, from /proc (newest match of `pattern`). */
function appProc(pattern = "simu-desktop") {
  const pid = execFileSync("pgrep", ["-n", "-f", pattern]).toString().trim();
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  const cpu = (Number(stat[11]) + Number(stat[12])) / 100;
  const pss = Number(/Pss:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"))?.[1] ?? 0) / 1024;
  return { pid, cpu, pss };
}

function cli(args) {
  const p = spawn(simu, [...args, "--server", server, "--media-ip", "127.0.0.1"], { env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  p.stdout.on("data", (d) => (out += d));
  p.stderr.on("data", (d) => (out += d));
  procs.push(p);
  return { proc: p, output: () => out, exit: new Promise((r) => p.on("exit", (code) => r(code))) };
}

const axeSource = readFileSync(path.join(root, "ui/node_modules/axe-core/axe.min.js"), "utf8");
/** What axe-core found on each screen checked so far. */
const a11yFindings = [];
const a11yChecked = [];

/** Runs axe-core in the app's web view on the screen shown, in the light and the dark theme;
 * keeps the serious and critical violations for the last test. */
async function a11y(screen) {
  if (!(await s.exec("return !!window.axe"))) await s.exec(`${axeSource}\n;return typeof window.axe;`);
  for (const theme of ["light", "dark"]) {
    const found = await s.execAsync(`const done = arguments[arguments.length - 1];
      const root = document.documentElement;
      const was = root.dataset.theme;
      root.dataset.theme = arguments[0];
      const summary = (n) => n.target.join(" ") + ": " + (n.failureSummary || "").split(String.fromCharCode(10)).slice(1, 2).join("").trim();
      setTimeout(() => window.axe.run(document, { resultTypes: ["violations"] }).then((r) => {
        if (was === undefined) delete root.dataset.theme; else root.dataset.theme = was;
        done(r.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
          .map((v) => v.id + " (" + v.impact + ") " + v.nodes.slice(0, 3).map(summary).join(" | ")));
      }, (e) => done(["axe failed: " + e])), 100);`, [theme]);
    a11yChecked.push(`${screen} (${theme})`);
    for (const f of found) a11yFindings.push(`${screen} (${theme}): ${f}`);
  }
}

/** A sidebar button (History, Settings, Keypad) by the start of its label. */
const nav = (label) => s.until(`sidebar ${label}`, () => s.find(`.sidebar button[aria-label^="${label}"]`));
/** The rows of the lists in the main pane (History, a person's calls), not the sidebar's. */
const paneRows = () => s.findAll(".pane ul.list li");
/** The text of the first element matching `css` (WebDriver's own text misses some in the sidebar). */
const textOf = (css) => s.exec("const e = document.querySelector(arguments[0]); return e ? e.textContent : ''", [css]);
/** Shows a person in the main pane by clicking their row in the sidebar. */
async function pick(text) {
  await s.until(`sidebar row ${text}`, () => s.exec("const b = [...document.querySelectorAll('.sidebar button.pick')].find((b) => b.textContent.includes(arguments[0])); if (b) b.click(); return !!b;", [text]));
  await s.until(`${text}'s pane`, () => s.find(".person"));
}

async function token(user) {
  return JSON.parse(execFileSync(simu, ["token", "--server", server, "--user", user], { env }).toString());
}

async function rest(tok, method, p, body) {
  // The app's embedded server keeps its tenant keys in its (private) data directory.
  const keys = JSON.parse(readFileSync(path.join(env.XDG_DATA_HOME, "simu/server/tenant.json"), "utf8"));
  const r = await fetch(`${server}/api/v1.0${p}`, {
    method,
    headers: { "content-type": "application/json", "X-API-Key": keys.api_key, "X-Secret-Key": keys.secret_key, "X-NX-Token": tok },
    body: body && JSON.stringify(body),
  });
  const text = await r.text();
  assert.ok(r.ok, `${method} ${p}: ${r.status} ${text}`);
  return JSON.parse(text);
}

/** A private PulseAudio for the app: a tone as the microphone, null sinks as speakers. */
async function startPulse() {
  const runtime = path.join(home, "pulse");
  mkdirSync(runtime, { recursive: true });
  const socket = path.join(runtime, "native");
  const penv = { ...env, XDG_RUNTIME_DIR: runtime, PULSE_RUNTIME_PATH: runtime };
  procs.push(spawn("pulseaudio", ["-n", "--daemonize=no", "--exit-idle-time=-1", "--disable-shm=yes",
    `--load=module-native-protocol-unix socket=${socket} auth-anonymous=1`,
    "--load=module-null-sink sink_name=simu_out rate=48000", "--load=module-null-sink sink_name=simu_mic rate=48000"], { env: penv, stdio: "ignore" }));
  env.PULSE_SERVER = `unix:${socket}`;
  for (let i = 0; i < 50 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 300));
  execFileSync("pactl", ["set-default-sink", "simu_out"], { env });
  execFileSync("pactl", ["set-default-source", "simu_mic.monitor"], { env });
  const tone = Buffer.alloc(48000 * 2 * 60);
  for (let i = 0; i < 48000 * 60; i++) tone.writeInt16LE(Math.round(Math.sin((i * 2 * Math.PI * 440) / 48000) * 16384), i * 2);
  const file = path.join(runtime, "tone.raw");
  writeFileSync(file, tone);
  procs.push(spawn("pacat", ["-d", "simu_mic", "--raw", "--format=s16le", "--rate=48000", "--channels=1", file], { env, stdio: "ignore" }));
}

before(async () => {
  mkdirSync(shots, { recursive: true });
  await startPulse();
  if (!env.DISPLAY) {
    env.DISPLAY = ":97";
    procs.push(spawn("Xvfb", [":97", "-screen", "0", "1280x800x24"], { stdio: "ignore" }));
    await new Promise((r) => setTimeout(r, 800));
  }
  procs.push(spawn(driver, ["--port", "4444", "--native-port", "4445"], { env, stdio: "ignore" }));
  await waitPort(4444);
  // tauri-driver listens at once but forwards to WebKitWebDriver, which it starts beside it: a
  // session asked for before that one listens fails (seen on a loaded CI machine).
  await waitPort(4445);
  s = await Session.start("http://127.0.0.1:4444", app);
});

after(async () => {
  try { await s?.end(); } catch { /* the app may already be gone */ }
  for (const p of procs.reverse()) p.kill("SIGTERM");
  rmSync(home, { recursive: true, force: true });
});

test("first launch: embedded sign-in, echo call with moving video and live stats, then history", async () => {
  const user = await s.until("sign-in form", () => s.find("input[name=username]"));
  await shot("1-sign-in");
  await a11y("sign-in");
  await s.type(user, "alice");
  await s.click(await s.find("button[type=submit]"));
  await s.until("dialer", () => s.find("#dial-input"));
  await s.until("echo contact", () => s.find('button[aria-label="Video call Echo test"]'));
  await shot("2-dialer");
  await a11y("keypad");
  await new Promise((r) => setTimeout(r, 1000));
  console.log(`measure: idle PSS ${appProc().pss.toFixed(0)} MiB`);
  if (process.env.SIMU_DISPLAY) {
    await s.exec(`location.search = "?display=${process.env.SIMU_DISPLAY}"`);
    await new Promise((r) => setTimeout(r, 1500));
    await s.until("echo contact", () => s.find('button[aria-label="Video call Echo test"]'));
  }
  await s.click(await s.find('button[aria-label="Video call Echo test"]'));
  await s.until("remote video frames", async () => (await s.exec("return window.simuVideo ? window.simuVideo.remote() : 0")) > 30, 30000);
  const f0 = await s.exec("return window.simuVideo.remote()");
  const p0 = appProc();
  const w0 = appProc("WebKitWebProcess");
  const n0 = appProc("WebKitNetworkProcess");
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, 5000));
  const f1 = await s.exec("return window.simuVideo.remote()");
  const p1 = appProc();
  const w1 = appProc("WebKitWebProcess");
  const n1 = appProc("WebKitNetworkProcess");
  const secs = (Date.now() - t0) / 1000;
  console.log(`measure: 720p call: remote frames drawn ${((f1 - f0) / secs).toFixed(1)} fps; app CPU ${(100 * (p1.cpu - p0.cpu) / secs).toFixed(0)}% of one core (whole app: in-process server, echo, codecs, WebKit); PSS ${p1.pss.toFixed(0)} MiB; web view (frames in, draw) CPU ${(100 * (w1.cpu - w0.cpu) / secs).toFixed(0)}%, PSS ${w1.pss.toFixed(0)} MiB; WebKit network process CPU ${(100 * (n1.cpu - n0.cpu) / secs).toFixed(0)}%; renderer ${await s.exec("return window.simuVideo.renderer")}`);
  const pixels = "const c = document.querySelector('canvas.remote'); const d = c.toDataURL('image/png'); let h = 0; for (let i = 0; i < d.length; i += 97) h = (h * 31 + d.charCodeAt(i)) | 0; return h;";
  const a = await s.exec(pixels);
  await new Promise((r) => setTimeout(r, 700));
  const b = await s.exec(pixels);
  assert.notEqual(a, b, "the remote picture changes over time");
  await s.click(await s.button("Statistics"));
  const fps = await s.until("stats with decoded frames", async () => {
    const v = await s.exec("const r = [...document.querySelectorAll('.stats tbody tr')].find((r) => r.cells[0].textContent === 'Frame rate'); return r ? parseFloat(r.cells[1].textContent) || 0 : 0;");
    return v > 0 ? v : 0;
  }, 15000);
  assert.ok(fps > 0);
  await shot("3-in-call-echo");
  await a11y("in call with statistics");
  // Esc closes the statistics panel; the call goes on (Esc never hangs up).
  await s.exec("document.body.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }))");
  await s.until("statistics closed", async () => (await s.exec("return document.querySelector('.stats') === null")) || null);
  const before = await s.exec("return window.simuVideo.remote()");
  await new Promise((r) => setTimeout(r, 1000));
  assert.ok((await s.exec("return window.simuVideo.remote()")) > before, "the call goes on after Esc");
  await s.click(await s.button("Hang up"));
  await s.until("back at the dialer", () => s.find("#dial-input"));
  await s.click(await nav("History"));
  const row = await s.until("history row", async () => {
    for (const li of await paneRows()) {
      const t = await s.text(li);
      if (t.includes("echo@") && t.includes("Completed")) return t;
    }
    return null;
  });
  assert.match(row, /0:\d\d/);
  await shot("4-history");
  await a11y("history");
  await s.click(await s.find('button[aria-label="Back"]'));
});

test("a call from the CLI rings, is accepted, and ends when the CLI hangs up; then one is declined", async () => {
  const c = cli(["call", "alice", "--user", "bob", "--video", "--duration", "3"]);
  await s.until("incoming screen", () => s.find("[role=alertdialog]"), 20000);
  await shot("5-incoming");
  await a11y("incoming call");
  await s.click(await s.button("Accept with video"));
  await s.until("remote video", async () => (await s.exec("return window.simuVideo ? window.simuVideo.remote() : 0")) > 10, 20000);
  assert.equal(await c.exit, 0, c.output());
  await s.until("dialer after the call", () => s.find("#dial-input"), 15000);
  const d = cli(["call", "alice", "--user", "bob", "--duration", "3"]);
  await s.until("incoming screen", () => s.find("[role=alertdialog]"), 20000);
  await s.click(await s.button("Decline"));
  assert.equal(await d.exit, 1, "the caller hears the decline");
  await s.until("dialer", () => s.find("#dial-input"));
  await s.click(await nav("History"));
  const texts = await s.until("both calls in history", async () => {
    const t = await Promise.all((await paneRows()).map((li) => s.text(li)));
    return t.some((x) => x.includes("bob@") && x.includes("Completed")) && t.some((x) => x.includes("bob@") && x.includes("Declined")) ? t : null;
  });
  assert.ok(texts.length >= 3);
  await s.click(await s.find('button[aria-label="Back"]'));
});

test("a group call with two CLI peers: a tile each, moving pictures, the highlight on whoever speaks", async () => {
  // Bob's tone plays first, Carol's later: the speaking outline must move from Bob to Carol.
  const bob = cli(["answer", "--user", "bob", "--calls", "1", "--talk", "0:9"]);
  const carol = cli(["answer", "--user", "carol", "--calls", "1", "--talk", "12:60"]);
  await s.click(await nav("New group call"));
  const extra = await s.until("group picker", () => s.find('input[name="group-extra"]'));
  for (const who of ["bob", "carol"]) {
    await s.type(extra, who);
    await s.click(await s.button("Add"));
    await s.until(`${who} picked`, async () => (await textOf(".group")).includes(`${who}@`));
  }
  await shot("group-pick");
  await s.click(await s.button("Video call"));
  const tiles = await s.until("two tiles", async () => {
    const t = await s.exec("return window.simuVideo ? window.simuVideo.tiles() : []");
    return t.length === 2 ? t : null;
  }, 30000);
  // Every member's picture moves on its own tile.
  for (const [kind, who] of tiles) {
    const before = await s.exec("return window.simuVideo.frames(arguments[0])", [kind]);
    await s.until(`${who}'s picture moves`, async () => (await s.exec("return window.simuVideo.frames(arguments[0])", [kind])) > before + 20, 15000);
  }
  const speaking = () => s.exec("const e = document.querySelector('.tile.speaking'); return e ? e.dataset.nxid : null");
  const first = await s.until("Bob outlined while he speaks", async () => ((await speaking()) ?? "").startsWith("bob@") || null, 15000);
  assert.ok(first);
  await shot("group-call");
  await a11y("group call");
  await s.until("Carol outlined once she speaks", async () => ((await speaking()) ?? "").startsWith("carol@") || null, 20000);
  // Statistics lists each member's received frame rate.
  await s.click(await s.button("Statistics"));
  const rows = await s.until("a statistics row per member, video moving", async () => {
    const r = await s.exec("return [...document.querySelectorAll('.members tbody tr')].map((tr) => [...tr.children].map((td) => td.textContent))");
    return r.length === 2 && r.every((row) => Number(row[1]) > 10) ? r : null;
  }, 10000);
  assert.deepEqual(rows.map((r) => r[0]).sort(), ["bob", "carol"]);
  await shot("group-stats");
  await s.click(await s.button("Hang up"));
  await s.until("keypad after the call", () => s.find("#dial-input"), 15000);
  // Bob and Carol are still in the call with each other; they hang up too.
  for (const peer of [bob, carol]) {
    assert.match(peer.output(), /connected: media flowing/);
    peer.proc.kill("SIGINT");
    assert.equal(await peer.exit, 0, peer.output());
  }
});

/** A token for the app's own user: nobody else can get one, so sign in with the app's device
 * secret (kept in a 0600 file in the profile where there is no OS keyring, as here). */
function appUserToken(user) {
  const secret = readFileSync(path.join(env.XDG_DATA_HOME, "simu/profiles/default/device.secret"), "utf8").trim();
  return JSON.parse(execFileSync(simu, ["token", "--server", server, "--user", user, "--password", secret], { env }).toString()).token;
}

test("history filters and pagination over a seeded server", async () => {
  assert.throws(() => execFileSync(simu, ["token", "--server", server, "--user", "alice"], { env, stdio: "pipe" }), /taken/, "another device cannot become alice");
  const alice = appUserToken("alice");
  await token("carol");
  const statuses = ["missed", "ended", "declined"];
  for (let i = 0; i < 24; i++) {
    const room = `seed_${Date.now()}_${i}`;
    await rest(alice, "POST", "/nx/webrtc/call/", { to: "carol", type: "p2p", room, media: i % 2 ? "audio" : "video" });
    await rest(alice, "POST", "/nx/call-analytics/", { room, call_type: i % 2 ? "audio" : "video", status: statuses[i % 3], duration_seconds: 30, metadata: {} });
  }
  await s.click(await nav("History"));
  await s.until("a full first page", async () => (await paneRows()).length === 20);
  const pager = await s.text(await s.find(".pager span"));
  const total = Number(/Page 1 · (\d+) calls/.exec(pager)?.[1]);
  assert.ok(total >= 27, `24 seeded calls plus the 3 made above, got "${pager}"`);
  await s.click(await s.button("Next"));
  await s.until("page 2", async () => (await s.text(await s.find(".pager span"))).startsWith("Page 2"));
  // Filters apply as they change: no button to press.
  await s.exec("const sel = document.querySelectorAll('.filters select')[1]; sel.value = 'missed'; sel.dispatchEvent(new Event('change', { bubbles: true }));");
  await s.until("only missed calls", async () => {
    const t = await Promise.all((await paneRows()).map((li) => s.text(li)));
    return t.length === 8 && t.every((x) => x.includes("Missed"));
  });
  await shot("6-history-missed");
  await s.click(await s.find('button[aria-label="Back"]'));
});

test("settings: the microphone meter moves and the speaker test plays", async () => {
  await s.click(await nav("Settings"));
  const level = await s.until("microphone level from the tone", async () => {
    const v = await s.exec("return Number(document.querySelector('meter.level').value)");
    return v > -30 ? v : null;
  }, 15000);
  assert.ok(level > -30, `a -9 dBFS tone, meter at ${level}`);
  await s.click(await s.button("Play a test sound"));
  const note = await s.until("speaker test done", async () => {
    const t = await s.exec("return document.querySelector('.devices [aria-live]').textContent");
    return t && t !== "…" ? t : null;
  }, 15000);
  assert.match(note, /Playing on default/);
  const previewed = await s.until("camera preview frames", async () => {
    const n = await s.exec("return window.simuPreview ? window.simuPreview.frames() : 0");
    return n > 10 ? n : null;
  }, 15000);
  assert.ok(previewed > 10);
  await shot("7-settings");
  await a11y("settings");
  // The codec preference is saved with the profile and shown again.
  await s.exec("const sel = document.querySelector('select[name=codec]'); sel.value = 'vp8'; sel.dispatchEvent(new Event('change', { bubbles: true }));");
  await new Promise((r) => setTimeout(r, 300));
  await s.click(await s.find('button[aria-label="Back"]'));
  await s.click(await nav("Settings"));
  const codec = await s.until("the saved codec preference", async () => {
    const v = await s.exec("return document.querySelector('select[name=codec]').value");
    return v === "vp8" ? v : null;
  }, 10000);
  assert.equal(codec, "vp8");
  await s.click(await s.find('button[aria-label="Back"]'));
});

test("a server that is down and bad credentials give clear errors", async () => {
  await s.click(await nav("Settings"));
  await s.click(await s.button("Sign out"));
  await s.click(await s.button("Yes, sign out"));
  await s.until("sign-in form", () => s.find("input[name=username]"));
  await s.click(await s.find('input[value="remote"]'));
  await s.type(await s.find("input[name=server]"), "http://127.0.0.1:9");
  await s.type(await s.find("input[name=username]"), "alice");
  await s.click(await s.find("button[type=submit]"));
  const down = await s.until("error for a server that is down", async () => s.text(await s.find("[role=alert]")));
  assert.match(down, /Cannot reach the server/);
  await shot("8-server-down");
  await a11y("sign-in with an error");
  const srv = await s.find("input[name=server]");
  await s.clear(srv);
  await s.type(srv, server);
  await s.type(await s.find("input[name=api_key]"), "wrong-key");
  await s.type(await s.find("input[name=secret_key]"), "wrong-secret");
  await s.click(await s.find("button[type=submit]"));
  const bad = await s.until("error for bad credentials", async () => {
    const t = await s.text(await s.find("[role=alert]"));
    return t.includes("refused") ? t : null;
  });
  assert.match(bad, /API key/);
  await shot("9-bad-credentials");
});

test("a tel: link the app is opened with fills the dialer and asks to call", async () => {
  await s.end();
  const launched = Date.now();
  s = await Session.start("http://127.0.0.1:4444", app, ["tel:+1-555-0100"]);
  const user = await s.until("sign-in form", () => s.find("input[name=username]"));
  console.log(`measure: cold start to the sign-in screen ${Date.now() - launched} ms (debug build, through WebDriver)`);
  await s.type(user, "alice");
  const submitted = Date.now();
  await s.click(await s.find("button[type=submit]"));
  await s.until("dialer", () => s.find("#dial-input"));
  console.log(`measure: sign-in to the dialer ${Date.now() - submitted} ms`);
  const value = await s.until("number from the link", async () => {
    const v = await s.exec("return document.querySelector('#dial-input').value");
    return v ? v : null;
  });
  assert.equal(value, "+1-555-0100");
  const note = await s.until("a prompt to call", async () => s.text(await s.find(".notice, [role=status]")));
  assert.match(note, /\+1-555-0100/);
  await shot("10-tel-link");
  // Signing out (in the test before) kept this computer's choices: the codec chosen earlier.
  await s.click(await nav("Settings"));
  const codec = await s.until("the kept codec preference", async () => {
    const v = await s.exec("const e = document.querySelector('select[name=codec]'); return e ? e.value : null");
    return v === "vp8" ? v : null;
  }, 10000);
  assert.equal(codec, "vp8");
});

test("contacts: saved from a history entry, renamed, searched, called by name, removed", async () => {
  await s.click(await s.find('button[aria-label="Back"]'));
  await s.click(await nav("History"));
  // Bob called earlier in this suite: save him from one of those entries.
  await s.type(await s.find("input[name=participant]"), "bob@simu.local");
  await s.click(await s.until("bob's entry offers saving", () => s.find('button[aria-label="Add to contacts bob@simu.local"]')));
  await s.until("bob's entries show a name", async () => (await s.findAll('button[aria-label="Add to contacts bob@simu.local"]')).length === 0 || null);
  await s.click(await s.find('button[aria-label="Back"]'));
  await pick("bob");
  await s.click(await s.until("rename bob", () => s.find('button[aria-label="Rename bob"]')));
  const field = await s.find("input[name=rename]");
  await s.clear(field);
  await s.type(field, "Bobby");
  await s.click(await s.button("Save"));
  await s.until("renamed", async () => (await textOf("ul.contacts")).includes("Bobby") || null);
  await s.type(await s.find("input[name=contact-search]"), "bobb");
  await s.until("the search keeps only Bobby", async () => {
    const rows = await s.exec("return [...document.querySelectorAll('ul.contacts li')].map((li) => li.textContent)");
    return (rows.length === 1 && rows[0].includes("Bobby")) || null;
  });
  await shot("11-contacts");
  await a11y("a contact");
  // Calling him shows the saved name, not the address.
  const c = cli(["answer", "--user", "bob", "--calls", "1"]);
  await s.until("bob online", async () => c.output().includes("is online") || null, 20000);
  await s.click(await s.find('button[aria-label="Audio call Bobby"]'));
  const header = await s.until("the call header", async () => s.text(await s.find(".call .top strong")), 20000);
  assert.equal(header, "Bobby");
  // An audio call after the video calls above: the avatar, no picture, no camera controls.
  assert.ok(await s.exec("return document.querySelector('.call .audio-only') !== null"), "the avatar shows");
  assert.ok(await s.exec("return document.querySelector('canvas.remote').classList.contains('hidden')"), "no remote picture");
  assert.equal((await s.findAll('button[aria-label="Switch camera"]')).length, 0, "no camera switch in an audio call");
  // Turning the camera on makes it a video call: the self-view runs and the camera controls appear.
  await s.click(await s.find('button[aria-label="Turn camera on"]'));
  await s.until("the self-view runs", async () => (await s.exec("return window.simuVideo.local()")) > 10 || null, 15000);
  await s.until("camera controls", () => s.find('button[aria-label="Switch camera"]'));
  assert.ok(await s.exec("return !document.querySelector('canvas.pip').classList.contains('hidden')"), "the self-view shows");
  await shot("11b-audio-call-with-camera");
  await s.click(await s.button("Hang up"));
  assert.equal(await c.exit, 0, c.output());
  // Back from the call to Bobby's pane, where the call is listed.
  await s.until("back at Bobby", async () => (await textOf(".person h1")) === "Bobby" || null, 15000);
  await s.click(await s.find('button[aria-label="Remove Bobby"]'));
  await s.click(await s.find(".person button.danger"));
  await s.until("removed", async () => !(await textOf("ul.contacts")).includes("Bobby") || null);
  await s.exec("const f = document.querySelector('input[name=contact-search]'); f.value = ''; f.dispatchEvent(new Event('input', { bubbles: true }));");
});

test("missed calls: a badge and a notice; do not disturb keeps calls from ringing; a blocked caller is declined", async () => {
  await s.click(await nav("Keypad"));
  // Rings out unanswered: a missed call, counted on History and in the window title.
  const a = cli(["call", "alice", "--user", "bob", "--ring", "3"]);
  await s.until("incoming screen", () => s.find("[role=alertdialog]"), 20000);
  assert.equal(await a.exit, 1, a.output());
  const missed = await s.until("missed-call badge", async () => {
    const label = await s.exec("const b = document.querySelector('.sidebar button[aria-label^=\"History\"]'); return b ? b.getAttribute('aria-label') : ''");
    return /1 missed/.test(label) ? label : null;
  }, 15000);
  assert.match(missed, /History: 1 missed calls/);
  assert.equal(await s.exec("return document.title"), "(1) Simu");
  assert.match(await s.text(await s.find("[role=status]")), /Missed call from bob/);
  await shot("12-missed-call");
  // Do not disturb: the next call does not ring, and is a missed call all the same.
  await s.click(await nav("Settings"));
  await s.click(await s.until("do not disturb", () => s.find("input[name=dnd]")));
  await s.until("the sidebar says so", () => s.find(".sidebar .dnd"));
  const b = cli(["call", "alice", "--user", "bob", "--ring", "3"]);
  assert.equal(await b.exit, 1, b.output());
  assert.match(b.output(), /Missed/, "for the caller it rang out");
  assert.equal((await s.findAll("[role=alertdialog]")).length, 0, "nothing rang");
  await s.until("two missed calls", async () => (await s.exec("return document.title")) === "(2) Simu" || null, 10000);
  await s.click(await s.find("input[name=dnd]"));
  await s.until("do not disturb off", async () => (await s.findAll(".sidebar .dnd")).length === 0 || null);
  // Blocked: bob's call is declined at once and never rings here.
  await s.click(await s.find('button[aria-label="Back"]'));
  await pick("bob");
  await s.click(await s.find('button[aria-label="Block bob"]'));
  await s.until("blocked", async () => (await textOf(".person p")).includes("Blocked") || null);
  const started = Date.now();
  const c = cli(["call", "alice", "--user", "bob", "--ring", "20"]);
  assert.equal(await c.exit, 1, c.output());
  assert.match(c.output(), /Declined/);
  assert.ok(Date.now() - started < 15000, "declined at once, not after the ring");
  assert.equal((await s.findAll("[role=alertdialog]")).length, 0, "nothing rang");
  await s.click(await nav("Settings"));
  const listed = await s.until("bob in the blocked list", async () => (await textOf("ul.blocked")).includes("bob@simu.local") || null);
  assert.ok(listed);
  await s.click(await s.find('button[aria-label="Unblock bob@simu.local"]'));
  await s.until("unblocked", async () => !(await textOf("ul.blocked")).includes("bob@simu.local") || null);
  await s.click(await s.find('button[aria-label="Back"]'));
});

test("contacts: saved from the keypad and from a call while it rings", async () => {
  await s.click(await nav("Keypad"));
  await s.type(await s.find("#dial-input"), "carol");
  await s.until("the number resolves", async () => (await textOf(".keypad-pane .norm")).includes("carol@simu.local") || null);
  await s.click(await s.button("Add to contacts"));
  await s.type(await s.find("input[name=save-name]"), "Carol");
  await s.click(await s.button("Save"));
  await s.until("Carol in the contacts", async () => (await textOf("ul.contacts")).includes("Carol") || null);
  // A caller while it rings: saved under the name the server knows it by.
  const c = cli(["call", "alice", "--user", "dave", "--ring", "20"]);
  await s.until("incoming screen", () => s.find("[role=alertdialog]"), 20000);
  await s.click(await s.until("add the caller", () => s.find("[role=alertdialog] button.link")));
  await s.until("saved while ringing", async () => (await s.findAll("[role=alertdialog] button.link")).length === 0 || null);
  await s.click(await s.button("Decline"));
  assert.equal(await c.exit, 1, c.output());
  await s.until("dave in the contacts", async () => (await textOf("ul.contacts")).includes("dave") || null);
  for (const name of ["Carol", "dave"]) {
    await pick(name);
    await s.click(await s.find(`button[aria-label="Remove ${name}"]`));
    await s.click(await s.find(".person button.danger"));
    await s.until(`${name} removed`, async () => !(await textOf("ul.contacts")).includes(name) || null);
  }
});

test("Copy call link: a browser joins with it as a guest, rings as 'Jane (guest, via link)', and both see video", async () => {
  const reg = cli(["link", "list", "--user", "linkbob"]);
  assert.equal(await reg.exit, 0, reg.output());
  await s.click(await nav("Keypad"));
  await s.type(await s.find("#dial-input"), "linkbob");
  await s.until("the number resolves", async () => (await textOf(".keypad-pane .norm")).includes("linkbob@simu.local") || null);
  await s.click(await s.button("Add to contacts"));
  await s.type(await s.find("input[name=save-name]"), "Link Bob");
  await s.click(await s.button("Save"));
  await pick("Link Bob");
  await s.click(await s.button("Copy call link"));
  const url = await s.until("the link", () => s.exec("const i = document.querySelector('.person .linkbox input'); return i && i.value ? i.value : null"));
  assert.match(url, /^http:\/\/127\.0\.0\.1:8787\/call\?room=.*&sig=[0-9a-f]+$/);
  await shot("guest-1-copy-call-link");
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(url);
    await page.getByLabel("Your name").fill("Jane");
    await page.getByRole("button", { name: "Join" }).click();
    await s.until("the guest rings", async () => (await textOf("[role=alertdialog] h1")) === "Jane (guest, via link)" || null, 20000);
    await shot("guest-2-incoming");
    await a11y("incoming guest");
    await s.click(await s.button("Accept with video"));
    await s.until("the guest's video in the app", async () => (await s.exec("return window.simuVideo ? window.simuVideo.remote() : 0")) > 30, 30000);
    const b = await until("the app's video in the browser", async () => {
      const st = await page.evaluate(() => window.simuCall.stats());
      return st.video.framesDecoded > 30 && st.audio.samples > 24000 ? st : null;
    }, 30000);
    console.log(`measure: desktop <- browser guest: browser decoded ${b.video.framesDecoded} frames ${b.video.width}x${b.video.height}, ${b.audio.samples} audio samples`);
    await page.screenshot({ path: path.join(shots, "guest-3-browser-in-call.png") });
    await page.getByRole("button", { name: "Hang up" }).click();
    await s.until("the call ends when the guest hangs up", async () => (await s.exec("return document.querySelector('canvas.remote') === null")) || null, 15000);
  } finally {
    await browser.close();
  }
  // Settings lists the link just made; a new room link joins it; revoking one removes it.
  await s.click(await nav("Settings"));
  const links = () => s.exec("return [...document.querySelectorAll('[aria-labelledby=links-title] li .linkbox input')].map((i) => i.value)");
  await s.until("the contact's link in Settings", async () => (await links()).includes(url) || null);
  await s.click(await s.button("New room link"));
  const both = await s.until("a room link beside it", async () => { const l = await links(); return l.length === 2 ? l : null; });
  await shot("guest-4-call-links");
  await a11y("settings with call links");
  // A room link's visitor knocks: the app shows its lobby, and turning away tells the page.
  const roomUrl = both.find((u) => u !== url);
  const knocker = await launchChromium();
  try {
    const page = await knocker.newPage();
    await page.goto(roomUrl);
    await page.getByLabel("Your name").fill("Stranger");
    await page.getByRole("button", { name: "Ask to join" }).click();
    await s.until("the lobby", async () => (await textOf("[role=alertdialog]")).includes("Asks to join your room") || null, 20000);
    assert.equal(await textOf("[role=alertdialog] h1"), "Stranger (guest, via link)");
    await shot("guest-4b-lobby");
    await a11y("a room link's lobby");
    await s.click(await s.button("Turn away"));
    await page.getByText("alice did not let you in.").waitFor({ timeout: 15000 });
  } finally {
    await knocker.close();
  }
  await s.until("the lobby gone", async () => (await s.findAll("[role=alertdialog]")).length === 0 || null, 15000);
  await s.click(await nav("Settings"));
  await s.until("Settings again", () => s.find("[aria-labelledby=links-title]"), 15000);
  await s.click(await s.find('button[aria-label^="Revoke Room link"]'));
  await s.until("the room link revoked", async () => { const l = await links(); return l.length === 1 && l[0] === url ? l : null; });
  const room = new URL(both.find((u) => u !== url)).searchParams.get("room");
  const r = await fetch(`${server}/api/v1.0/simu/link/open`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ link: new URL(both.find((u) => u !== url)).search.slice(1) }) });
  assert.equal(r.status, 410, `the revoked room link ${room} is refused`);
});

test("invite by link during a call: the guest knocks, the app says who, lets them in, and all three see each other", async () => {
  const peer = cli(["answer", "--user", "knockbob", "--calls", "1"]);
  await s.until("knockbob online", async () => peer.output().includes("is online") || null, 20000);
  await s.click(await nav("Keypad"));
  await s.type(await s.find("#dial-input"), "knockbob");
  await s.until("the number resolves", async () => (await textOf(".keypad-pane .norm")).includes("knockbob@simu.local") || null);
  await s.click(await s.button("Video call"));
  const addPerson = await s.until("in the call", () => s.find('button[aria-label="Add person"]'), 30000);
  await s.until("knockbob's video", async () => (await s.exec("return window.simuVideo ? window.simuVideo.remote() : 0")) > 10, 30000);
  // Add person -> Invite by link: a room link for this call, shown to copy.
  await s.click(addPerson);
  await s.click(await s.button("Invite by link"));
  const url = await s.until("the invitation link", () => s.exec("const i = document.querySelector('.bylink .linkbox input'); return i && i.value ? i.value : null"));
  assert.match(url, /\/call\?room=.*&type=room&.*sig=[0-9a-f]+$/);
  await shot("guest-5-invite-by-link");
  await a11y("invite by link during a call");
  await s.click(await s.button("Cancel"));
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(url);
    await page.getByLabel("Your name").fill("Jane");
    await page.getByRole("button", { name: "Ask to join" }).click();
    await s.until("the knock in the call", async () => (await textOf(".knocks .knock")).includes("Jane (guest, via link) asks to join the call") || null, 20000);
    await shot("guest-6-knock-during-call");
    await a11y("a guest knocking during a call");
    await s.click(await s.button("Let in"));
    await s.until("a tile for knockbob and one for Jane", async () => {
      const t = await s.exec("return window.simuVideo ? window.simuVideo.tiles() : []");
      return t.length === 2 || null;
    }, 30000);
    const b = await until("the browser decoding the app and knockbob", async () => {
      const st = await page.evaluate(() => window.simuCall.stats());
      return st.members.length === 2 && st.members.every((m) => m.framesDecoded > 20) ? st : null;
    }, 30000);
    console.log(`measure: guest admitted into a desktop call: browser decoded ${b.members.map((m) => `${m.jid.split("@")[0]} ${m.framesDecoded} frames`).join(", ")}`);
    const names = await s.exec("return [...document.querySelectorAll('.tile')].map((e) => e.textContent)");
    assert.ok(names.some((n) => n.includes("Jane (guest, via link)")), `the guest's tile says who: ${names}`);
    await shot("guest-7-admitted");
    await page.getByRole("button", { name: "Hang up" }).click();
  } finally {
    await browser.close();
  }
  await s.click(await s.button("Hang up"));
  await s.until("keypad after the call", () => s.find("#dial-input"), 15000);
  assert.equal(await peer.exit, 0, peer.output());
});

test("settings: Kiswahili and back, speakers by the names PulseAudio gives them", async () => {
  await s.click(await nav("Settings"));
  const choose = (name, value) => s.exec(`const e = document.querySelector('select[name=${name}]'); e.value = arguments[0]; e.dispatchEvent(new Event('change', { bubbles: true }));`, [value]);
  // The speaker list: Pulse's sinks with their descriptions, chosen by a stable id.
  const speakers = await s.until("Pulse's sinks", async () => {
    const o = await s.exec("return [...document.querySelectorAll('select[name=speaker] option')].map((o) => [o.value, o.textContent])");
    return o.some(([v]) => v === "pulse:simu_mic") ? o : null;
  }, 15000);
  assert.ok(speakers.every(([v, label]) => !v.startsWith("pulse:") || label !== v.slice(6)), `descriptions, not raw names: ${JSON.stringify(speakers)}`);
  await choose("speaker", "pulse:simu_mic");
  await new Promise((r) => setTimeout(r, 300));
  await s.click(await s.find('button[aria-label="Back"]'));
  await s.click(await nav("Settings"));
  await s.until("the chosen sink is kept", async () => (await s.exec("return document.querySelector('select[name=speaker]').value")) === "pulse:simu_mic" || null, 10000);
  await choose("speaker", "");
  // Kiswahili: the page reloads in the new language, dates too.
  await choose("language", "sw");
  await s.until("Kiswahili", async () => (await s.exec("return document.documentElement.lang")) === "sw" || null, 15000);
  await s.until("the sidebar in Kiswahili", () => s.find('.sidebar button[aria-label="Mipangilio"]'), 15000);
  await shot("14-kiswahili");
  await s.click(await nav("Mipangilio"));
  await choose("language", "");
  await s.until("back to the system's language", async () => (await s.exec("return document.documentElement.lang")) === "en" || null, 15000);
  await s.until("the sidebar in English", () => s.find('.sidebar button[aria-label="Settings"]'), 15000);
});

test("the window at 640x480 shows the contact list, the keypad and the call buttons", async () => {
  await s.click(await nav("Keypad"));
  await s.resize(640, 480);
  await s.until("a 640 px wide page", async () => (await s.exec("return window.innerWidth")) <= 660 || null, 10000);
  const visible = (css) => s.exec(`const e = document.querySelector('${css}'); if (!e) return false; const r = e.getBoundingClientRect(); return r.width > 0 && r.top >= 0 && r.bottom <= window.innerHeight && r.right <= window.innerWidth;`);
  assert.ok(await visible('.sidebar button[aria-label="Video call Echo test"]'), "the echo contact is on screen");
  assert.ok(await visible("#dial-input"), "the number field is on screen");
  assert.ok(await visible(".keypad-pane .actions button"), "the call buttons are on screen");
  await shot("13-640x480");
  await a11y("keypad at 640x480");
  await s.resize(1100, 720);
});

test("accessibility: axe-core finds no serious or critical violations on any screen, light or dark", () => {
  console.log(`measure: axe-core checked ${a11yChecked.length} screen/theme pairs: ${a11yChecked.join(", ")}`);
  assert.ok(a11yChecked.length >= 18, "every screen was checked");
  assert.deepEqual(a11yFindings, []);
});

test("closing the window leaves Simu running in the tray, still reachable", async () => {
  const before = appProc().pid;
  // What a window manager's close button sends (python3-xlib), not WebDriver's window close.
  execFileSync("/usr/bin/python3", [path.join(root, "ui/e2e/close_window.py"), "Simu"], { env });
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(appProc().pid, before, "the app still runs");
  const presence = await rest((await token("carol")).token, "GET", "/nx/presence/?user=alice");
  assert.equal(presence.status, "online", "alice can still be called");
});
