// Small network helpers shared by the Node test suites (desktop e2e, Chromium interop).
import net from "node:net";

/** Resolves once something accepts TCP connections on 127.0.0.1:`port`. */
export function waitPort(port, ms = 20000) {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const c = net.connect(port, "127.0.0.1", () => { c.end(); resolve(); });
      c.on("error", () => (Date.now() > deadline ? reject(new Error(`port ${port} never opened`)) : setTimeout(attempt, 200)));
    };
    attempt();
  });
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((resolve) => { const s = net.createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => resolve(p)); }); });
}
