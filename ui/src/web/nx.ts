// A small XMPP-over-WebSocket client for NX signaling (docs/protocol.md §3): SASL PLAIN with an
// NX (here: guest) token, bind, presence, and one JSON signal per <message><body>.

const FRAMING = "urn:ietf:params:xml:ns:xmpp-framing";
/** How long the server may take to answer one negotiation step. */
const STEP_MS = 10_000;

export type Signal = Record<string, unknown> & { type: string; roomId?: string };

export interface NxHandlers {
  signal: (s: Signal, from: string) => void;
  closed: () => void;
}

/** Escapes text for XML character data and attribute values. */
export function xmlEscape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;");
}

/** The JSON signal a `<message>` carries, or null (not a message, no body, not JSON). */
export function parseMessage(el: Element): { signal: Signal; from: string } | null {
  if (el.localName !== "message" || el.getAttribute("type") === "error") return null;
  const body = Array.from(el.children).find((c) => c.localName === "body")?.textContent;
  if (!body) return null;
  try {
    const v = JSON.parse(body);
    if (v && typeof v === "object" && typeof v.type === "string") return { signal: v as Signal, from: el.getAttribute("from") ?? "" };
  } catch {
    // Plain-text chat, not a signal.
  }
  return null;
}

export class NxClient {
  private ws!: WebSocket;
  private waiters: { pred: (e: Element) => boolean; resolve: (e: Element) => void }[] = [];
  private closedByUs = false;
  fullJid = "";

  constructor(
    private url: string,
    private jid: string,
    private token: string,
    private on: NxHandlers,
  ) {}

  /** Opens the stream, authenticates, binds and sends presence. */
  async connect(): Promise<void> {
    const [local, domain] = this.jid.split("@");
    this.ws = new WebSocket(this.url, "xmpp");
    this.ws.onmessage = (m) => this.frame(String(m.data));
    this.ws.onclose = () => {
      for (const w of this.waiters.splice(0)) w.resolve(document.createElement("closed"));
      if (!this.closedByUs) this.on.closed();
    };
    await new Promise<void>((ok, fail) => {
      this.ws.onopen = () => ok();
      this.ws.onerror = () => fail(new Error("The signaling connection failed."));
    });
    const open = `<open xmlns="${FRAMING}" to="${xmlEscape(domain)}" version="1.0"/>`;
    this.ws.send(open);
    await this.next((e) => e.localName === "features");
    this.ws.send(`<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="PLAIN">${btoa(`\0${local}\0${this.token}`)}</auth>`);
    const r = await this.next((e) => e.localName === "success" || e.localName === "failure");
    if (r.localName !== "success") throw new Error("The server refused this pass.");
    this.ws.send(open);
    await this.next((e) => e.localName === "features");
    this.ws.send(`<iq type="set" id="bind1" xmlns="jabber:client"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"><resource>web</resource></bind></iq>`);
    const bound = await this.next((e) => e.localName === "iq" && e.getAttribute("id") === "bind1");
    this.fullJid = bound.getElementsByTagName("jid")[0]?.textContent ?? "";
    if (!this.fullJid) throw new Error("The server did not bind this session.");
    this.ws.send(`<iq type="set" id="sess1" xmlns="jabber:client"><session xmlns="urn:ietf:params:xml:ns:xmpp-session"/></iq>`);
    this.ws.send(`<presence xmlns="jabber:client"/>`);
  }

  /** Sends one signal to `to` as a chat message asking for a receipt. */
  send(to: string, s: Signal): void {
    if (this.ws?.readyState !== WebSocket.OPEN) return;
    const id = Math.random().toString(36).slice(2);
    this.ws.send(`<message type="chat" to="${xmlEscape(to)}" id="${id}" xmlns="jabber:client"><body>${xmlEscape(JSON.stringify(s))}</body><request xmlns="urn:xmpp:receipts"/></message>`);
  }

  close(): void {
    this.closedByUs = true;
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(`<close xmlns="${FRAMING}"/>`);
    this.ws?.close();
  }

  private frame(text: string): void {
    const doc = new DOMParser().parseFromString(text, "application/xml");
    const el = doc.documentElement;
    if (!el || el.getElementsByTagName("parsererror").length || el.localName === "parsererror") return;
    if (el.localName === "iq" && el.getAttribute("type") === "get") {
      this.ws.send(`<iq type="result" id="${xmlEscape(el.getAttribute("id") ?? "")}" to="${xmlEscape(el.getAttribute("from") ?? "")}" xmlns="jabber:client"/>`);
      return;
    }
    const m = parseMessage(el);
    if (m) {
      this.on.signal(m.signal, m.from);
      return;
    }
    const i = this.waiters.findIndex((w) => w.pred(el));
    if (i >= 0) this.waiters.splice(i, 1)[0].resolve(el);
  }

  private next(pred: (e: Element) => boolean): Promise<Element> {
    return new Promise((resolve, reject) => {
      const w = {
        pred,
        resolve: (e: Element) => {
          clearTimeout(timer);
          if (e.localName === "closed") reject(new Error("The signaling connection closed."));
          else resolve(e);
        },
      };
      const timer = setTimeout(() => {
        const k = this.waiters.indexOf(w);
        if (k >= 0) this.waiters.splice(k, 1);
        reject(new Error("The server did not answer in time."));
      }, STEP_MS);
      this.waiters.push(w);
    });
  }
}
