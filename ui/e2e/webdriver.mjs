// A small W3C WebDriver client (fetch only) for driving the real app through tauri-driver.

export class Session {
  constructor(base, id) { this.base = base; this.id = id; }

  static async start(base, application, args = []) {
    const r = await req(base, "POST", "/session", { capabilities: { alwaysMatch: { "tauri:options": { application, args } } } });
    return new Session(base, r.sessionId);
  }

  cmd(method, path, body) { return req(this.base, method, `/session/${this.id}${path}`, body); }
  async find(css) {
    const r = await this.cmd("POST", "/element", { using: "css selector", value: css });
    return Object.values(r)[0];
  }
  async findAll(css) {
    const r = await this.cmd("POST", "/elements", { using: "css selector", value: css });
    return r.map((e) => Object.values(e)[0]);
  }
  click(el) { return this.cmd("POST", `/element/${el}/click`, {}); }
  type(el, text) { return this.cmd("POST", `/element/${el}/value`, { text }); }
  clear(el) { return this.cmd("POST", `/element/${el}/clear`, {}); }
  text(el) { return this.cmd("GET", `/element/${el}/text`); }
  exec(script, args = []) { return this.cmd("POST", "/execute/sync", { script, args }); }
  /** Runs `script`, which calls its last argument with the result. */
  execAsync(script, args = []) { return this.cmd("POST", "/execute/async", { script, args }); }
  end() { return this.cmd("DELETE", ""); }
  /** Resizes the app's window (the page's size follows once the window manager agrees). */
  resize(width, height) { return this.cmd("POST", "/window/rect", { width, height }); }

  /** Polls `f` until it returns a truthy value; errors count as "not yet". */
  async until(what, f, ms = 20000) {
    const deadline = Date.now() + ms;
    let last;
    while (Date.now() < deadline) {
      try {
        const v = await f();
        if (v) return v;
      } catch (e) { last = e; }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ""}`);
  }

  /** Clicks the first button whose visible text contains `label`. */
  async button(label) {
    return this.until(`button "${label}"`, async () => {
      for (const b of await this.findAll("button")) {
        if ((await this.text(b)).includes(label)) return b;
      }
      return null;
    });
  }
}

async function req(base, method, path, body) {
  const r = await fetch(base + path, { method, headers: { "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  const j = await r.json();
  if (!r.ok || (j.value && j.value.error)) throw new Error(`${method} ${path}: ${JSON.stringify(j.value ?? j).slice(0, 300)}`);
  return j.value;
}
