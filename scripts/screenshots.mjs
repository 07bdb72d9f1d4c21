// Screenshots of the desktop app's screens at 640x480, 1280x800 and 1920x1080, light and dark,
// English and Swahili, for looking at them (and for the README): not a test.
// Usage: node scripts/screenshots.mjs [out-dir]   (after building target/debug/simu-desktop)
import { spawn, execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { waitPort } from "../tests/js/net.mjs";
import { Session } from "../ui/e2e/webdriver.mjs";

const root = path.resolve(import.meta.dirname, "..");
const app = path.join(root, "target/debug/simu-desktop");
const driver = process.env.TAURI_DRIVER ?? "tauri-driver";
const out = path.resolve(process.argv[2] ?? path.join(root, "target/screens"));
const display = ":95";
const sizes = [[640, 480], [1280, 800], [1920, 1080]];
const procs = [];
mkdirSync(out, { recursive: true });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const home = mkdtempSync(path.join(tmpdir(), "simu-shots-"));
procs.push(spawn("Xvfb", [display, "-screen", "0", "1920x1080x24"], { stdio: "ignore" }));
await sleep(800);

/** Runs the app in `lang` and photographs each screen at each size and theme. */
async function round(lang, port) {
  const env = { ...process.env, HOME: home, XDG_DATA_HOME: path.join(home, "data"), DISPLAY: display, WEBKIT_DISABLE_COMPOSITING_MODE: "1" };
  const d = spawn(driver, ["--port", String(port), "--native-port", String(port + 1)], { env, stdio: "ignore" });
  procs.push(d);
  await waitPort(port);
  const s = await Session.start(`http://127.0.0.1:${port}`, app, ["--profile", `shots-${lang}`]);
  const shoot = async (name, w, h) => {
    await s.resize(w, h);
    await sleep(700);
    execFileSync("import", ["-display", display, "-window", "root", "-crop", `${w}x${h}+0+0`, path.join(out, `${name}-${w}x${h}-${lang}.png`)]);
  };
  await s.until("a first screen", async () => (await s.findAll("input[name=username], #dial-input")).length > 0);
  // The language as Settings chooses it (kept in the web view's storage), then a fresh start.
  await s.exec(`localStorage.setItem("simu.language", "${lang}"); location.reload();`);
  await sleep(1000);
  await s.until("the first screen again", async () => (await s.findAll("input[name=username], #dial-input")).length > 0);
  await sleep(2000);
  if (await s.exec("return !!document.querySelector('input[name=username]')")) {
    for (const theme of ["light", "dark"]) {
      await s.exec(`document.documentElement.dataset.theme = '${theme}'`);
      await shoot(`signin-${theme}`, 1280, 800);
    }
    await s.type(await s.find("input[name=username]"), lang === "sw" ? "neema" : "ann");
    await s.click(await s.find("button[type=submit]"));
  }
  await s.until("main screen", () => s.find('button[aria-label$="Echo test"]'), 30000);
  const screens = {
    keypad: "document.querySelector('.sidebar button[aria-label]').click()",
    contact: "[...document.querySelectorAll('.sidebar button.pick')][0].click()",
    history: "document.querySelectorAll('.sidebar header button')[1].click()",
    settings: "document.querySelectorAll('.sidebar header button')[2].click()",
  };
  // A call first (so History and recent calls have one), photographed with its statistics.
  await s.exec("document.querySelectorAll('.sidebar li button[aria-label]')[1].click()");
  await s.until("remote video", async () => (await s.exec("return window.simuVideo ? window.simuVideo.remote() : 0")) > 30, 30000);
  await s.exec("[...document.querySelectorAll('.controls button')].find((b) => b.getAttribute('aria-pressed') === 'false' && b.textContent.length > 3 && !b.getAttribute('aria-expanded')).click()");
  for (const [w, h] of sizes) await shoot("in-call", w, h);
  await s.exec("document.querySelector('.controls button.danger').click()");
  await sleep(1500);
  await s.until("back from the call", () => s.find("#dial-input"), 15000);
  for (const [name, go] of Object.entries(screens)) {
    await s.exec(go);
    await sleep(500);
    for (const theme of ["light", "dark"]) {
      await s.exec(`document.documentElement.dataset.theme = '${theme}'`);
      for (const [w, h] of sizes) await shoot(`${name}-${theme}`, w, h);
    }
  }
  await s.end();
  d.kill();
}

try {
  await round("en", 4464);
  await round("sw", 4474);
  console.log(`screenshots in ${out}`);
} finally {
  for (const p of procs.reverse()) p.kill("SIGTERM");
  rmSync(home, { recursive: true, force: true });
}
