// A minimal client for Firefox's Marionette protocol (length-prefixed JSON over TCP), enough to
// open a page and run scripts in it, so tests can drive Debian's firefox-esr without geckodriver.
import net from "node:net";

export class Marionette {
  static async connect(port, host = "127.0.0.1") {
    const m = new Marionette();
    await new Promise((resolve, reject) => {
      m.socket = net.connect(port, host, resolve);
      m.socket.once("error", reject);
    });
    m.socket.on("data", (d) => m.receive(d));
    m.socket.on("error", () => {});
    await m.next(); // the server's hello
    return m;
  }

  constructor() {
    this.buffer = Buffer.alloc(0);
    this.messages = [];
    this.waiting = [];
    this.id = 0;
    this.replies = new Map();
  }

  receive(data) {
    this.buffer = Buffer.concat([this.buffer, data]);
    for (;;) {
      const colon = this.buffer.indexOf(58); // ':'
      if (colon < 0) return;
      const len = Number(this.buffer.subarray(0, colon).toString());
      if (this.buffer.length < colon + 1 + len) return;
      const msg = JSON.parse(this.buffer.subarray(colon + 1, colon + 1 + len).toString());
      this.buffer = this.buffer.subarray(colon + 1 + len);
      if (Array.isArray(msg) && msg[0] === 1 && this.replies.has(msg[1])) {
        const { resolve, reject } = this.replies.get(msg[1]);
        this.replies.delete(msg[1]);
        if (msg[2]) reject(new Error(`${msg[2].error}: ${msg[2].message}`));
        else resolve(msg[3]);
      } else if (this.waiting.length) {
        this.waiting.shift()(msg);
      } else {
        this.messages.push(msg);
      }
    }
  }

  next() {
    return this.messages.length ? Promise.resolve(this.messages.shift()) : new Promise((r) => this.waiting.push(r));
  }

  /** Sends a command; resolves with its result or rejects with its error. */
  command(name, params = {}) {
    const id = ++this.id;
    const body = Buffer.from(JSON.stringify([0, id, name, params]));
    this.socket.write(`${body.length}:`);
    this.socket.write(body);
    return new Promise((resolve, reject) => this.replies.set(id, { resolve, reject }));
  }

  /** Runs `fn` (a function's source) in the page with `args`; awaits a returned promise. */
  async exec(fn, ...args) {
    const r = await this.command("WebDriver:ExecuteScript", { script: `return (${fn}).apply(null, arguments);`, args, scriptTimeout: 60000 });
    return r?.value;
  }

  close() {
    this.socket.destroy();
  }
}
