// A browser peer that speaks the NX protocol (PROTOCOL.md §3-4) with the browser's own
// RTCPeerConnection: written from the protocol text, independently of Simu's Rust code, so a
// call between the two checks interoperability. Driven by tests/interop/chromium.test.mjs.

const FRAMING = "urn:ietf:params:xml:ns:xmpp-framing";

class Peer {
  constructor({ nxws, jid, token, rest, apiKey, secretKey, codec }) {
    Object.assign(this, { nxws, jid, token, rest, apiKey, secretKey, codec });
    [this.local, this.domain] = jid.split("/")[0].split("@");
    this.inbox = [];
    this.waiters = [];
    this.log = [];
    this.state = "idle";
    this.pc = null;
    this.room = null;
    this.peerJid = null;
    this.pending = [];
  }

  async connect() {
    this.ws = new WebSocket(this.nxws, "xmpp");
    this.ws.onmessage = (m) => this.frame(String(m.data));
    await new Promise((ok, fail) => { this.ws.onopen = ok; this.ws.onerror = () => fail(new Error("websocket failed")); });
    await this.open();
    this.ws.send(`<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="PLAIN">${btoa("\0" + this.local + "\0" + this.token)}</auth>`);
    const r = await this.next((e) => e.localName === "success" || e.localName === "failure");
    if (r.localName !== "success") throw new Error("SASL refused");
    await this.open();
    this.ws.send(`<iq type="set" id="bind1" xmlns="jabber:client"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"><resource>chromium</resource></bind></iq>`);
    const bound = await this.next((e) => e.localName === "iq" && e.getAttribute("id") === "bind1");
    this.fullJid = bound.getElementsByTagName("jid")[0]?.textContent;
    this.ws.send(`<iq type="set" id="sess1" xmlns="jabber:client"><session xmlns="urn:ietf:params:xml:ns:xmpp-session"/></iq>`);
    this.ws.send(`<presence xmlns="jabber:client"/>`);
    return this.fullJid;
  }

  async open() {
    this.ws.send(`<open xmlns="${FRAMING}" to="${this.domain}" version="1.0"/>`);
    await this.next((e) => e.localName === "features");
  }

  frame(text) {
    const doc = new DOMParser().parseFromString(text, "application/xml");
    const el = doc.documentElement;
    if (!el || el.localName === "parsererror") return;
    if (el.localName === "iq" && el.getAttribute("type") === "get") {
      this.ws.send(`<iq type="result" id="${el.getAttribute("id")}" to="${el.getAttribute("from") ?? ""}" xmlns="jabber:client"/>`);
      return;
    }
    if (el.localName === "message") {
      const body = el.getElementsByTagName("body")[0]?.textContent;
      if (body) {
        try { this.signal(JSON.parse(body), el.getAttribute("from")); } catch (e) { this.log.push(`bad body: ${e}`); }
      }
      return;
    }
    const i = this.waiters.findIndex((w) => w.pred(el));
    if (i >= 0) this.waiters.splice(i, 1)[0].resolve(el);
    else this.inbox.push(el);
  }

  next(pred, ms = 10000) {
    const i = this.inbox.findIndex(pred);
    if (i >= 0) return Promise.resolve(this.inbox.splice(i, 1)[0]);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve };
      this.waiters.push(w);
      setTimeout(() => { const k = this.waiters.indexOf(w); if (k >= 0) { this.waiters.splice(k, 1); reject(new Error("timed out")); } }, ms);
    });
  }

  send(to, msg) {
    const esc = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
    const id = Math.random().toString(36).slice(2);
    this.ws.send(`<message type="chat" to="${to}" id="${id}" xmlns="jabber:client"><body>${esc(JSON.stringify(msg))}</body><request xmlns="urn:xmpp:receipts"/></message>`);
  }

  async media() {
    if (!this.stream) this.stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 1280, height: 720, frameRate: 30 } });
    return this.stream;
  }

  async iceServers() {
    const r = await fetch(`${this.rest}/api/v1.0/nx/webrtc/credentials/`, { headers: this.headers() });
    const body = await r.json();
    return body.ice_servers ?? body.iceServers ?? [];
  }

  headers() {
    return { "content-type": "application/json", "X-API-Key": this.apiKey, "X-Secret-Key": this.secretKey, "X-NX-Token": this.token };
  }

  /** The peer connection; local tracks are added now (caller) or once the offer is in (callee). */
  async makePc(withTracks = true) {
    let servers = [];
    try { servers = await this.iceServers(); } catch (e) { this.log.push(`ice servers: ${e}`); }
    const pc = new RTCPeerConnection({ iceServers: servers.map((s) => ({ urls: s.urls, username: s.username, credential: s.credential })) });
    pc.onicecandidate = (e) => {
      if (e.candidate) this.log.push(`cand ${e.candidate.candidate}`);
      if (e.candidate) this.send(this.peerJid, { type: "webrtc_ice_candidate", roomId: this.room, candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid, sdpMLineIndex: e.candidate.sdpMLineIndex });
    };
    // Play what arrives (video muted, audio through an audio element, so Chromium decodes it).
    pc.ontrack = (e) => {
      const stream = e.streams[0] ?? new MediaStream([e.track]);
      document.getElementById(e.track.kind === "audio" ? "sound" : "remote").srcObject = stream;
    };
    pc.onconnectionstatechange = () => {
      this.log.push(`pc ${pc.connectionState}`);
      if (pc.connectionState === "connected") { this.state = "connected"; this.connectedAt = Date.now(); this.watchSender(); }
    };
    this.pc = pc;
    if (withTracks) await this.addTracks();
    return pc;
  }

  /** Adds the camera and microphone (reusing the offer's transceivers when answering) and puts
   * the chosen video codec first. */
  async addTracks() {
    const stream = await this.media();
    for (const t of stream.getTracks()) this.pc.addTrack(t, stream);
    for (const tr of this.pc.getTransceivers()) {
      tr.direction = "sendrecv";
      if (tr.receiver.track.kind === "video" && this.codec) {
        const caps = RTCRtpReceiver.getCapabilities("video").codecs;
        const want = caps.filter((c) => c.mimeType.toLowerCase() === `video/${this.codec}`);
        tr.setCodecPreferences([...want, ...caps.filter((c) => !want.includes(c))]);
      }
    }
  }

  async remote(desc) {
    await this.pc.setRemoteDescription(desc);
    for (const c of this.pending.splice(0)) await this.pc.addIceCandidate(c);
  }

  async signal(m, from) {
    this.log.push(`<- ${m.type}`);
    const bare = (from ?? "").split("/")[0];
    if (m.type === "call_invitation") {
      const caller = (m.fromNxId ?? m.fromJid ?? bare).split("/")[0];
      if (m.roomId === this.room) return; // the same invitation again (server and caller both send it)
      if (this.state !== "idle") { this.send(caller, { type: "call_response", roomId: m.roomId, accepted: false, timestamp: Date.now() }); return; }
      this.room = m.roomId; this.peerJid = caller; this.state = "answering";
      await this.makePc(false);
      this.send(bare, { type: "call_response", roomId: m.roomId, accepted: true, timestamp: Date.now() });
      return;
    }
    if (m.roomId !== this.room) return;
    if ((m.type === "call_response" && m.accepted) || m.type === "call_accepted") {
      if (this.pc) return;
      await this.makePc();
      const offer = await this.pc.createOffer();
      await this.pc.setLocalDescription(offer);
      this.send(this.peerJid, { type: "webrtc_offer", roomId: this.room, sdp: offer.sdp, sdp_type: "offer" });
    } else if (m.type === "call_response") {
      this.state = "declined";
    } else if (m.type === "webrtc_offer") {
      const first = !this.pc.remoteDescription;
      await this.remote({ type: "offer", sdp: m.sdp });
      if (first) await this.addTracks();
      const answer = await this.pc.createAnswer();
      await this.pc.setLocalDescription(answer);
      this.send(this.peerJid, { type: "webrtc_answer", roomId: this.room, sdp: answer.sdp, sdp_type: "answer" });
    } else if (m.type === "webrtc_answer") {
      await this.remote({ type: "answer", sdp: m.sdp });
    } else if (m.type === "webrtc_ice_candidate") {
      const c = { candidate: m.candidate, sdpMid: m.sdpMid, sdpMLineIndex: m.sdpMLineIndex };
      if (this.pc?.remoteDescription) await this.pc.addIceCandidate(c); else this.pending.push(c);
    } else if (m.type === "call_end") {
      this.final = await this.stats();
      this.state = "ended";
      this.pc?.close();
    }
  }

  /** Calls `to` (an NX ID): registers the call over REST, then invites over NX. */
  async call(to) {
    this.room = `call_${Date.now()}`;
    this.peerJid = to;
    this.state = "calling";
    const r = await fetch(`${this.rest}/api/v1.0/nx/webrtc/call/`, { method: "POST", headers: this.headers(), body: JSON.stringify({ to: to.split("@")[0], type: "p2p", room: this.room, media: "video" }) });
    if (!r.ok) throw new Error(`call refused: ${r.status} ${await r.text()}`);
    this.send(to, { type: "call_invitation", roomId: this.room, callType: "video", fromNxId: this.jid, fromName: "Chromium", timestamp: Date.now() });
  }

  async hangUp() {
    this.final = await this.stats();
    if (this.peerJid && this.room) this.send(this.peerJid, { type: "call_end", roomId: this.room, timestamp: Date.now() });
    this.state = "ended";
    this.pc?.close();
  }

  /** Samples what the browser sends every second from the moment it connects (`timeline`). */
  watchSender() {
    this.timeline = [];
    const tick = async () => {
      if (!this.pc || this.pc.connectionState === "closed") return;
      this.timeline.push({ t: (Date.now() - this.connectedAt) / 1000, ...(await this.senderStats()) });
      setTimeout(tick, 1000);
    };
    setTimeout(tick, 1000);
  }

  /** The browser's own view of its video sending: size, rate, why it is limited, the estimate,
   * and the keyframe and resend requests it got from Simu. */
  async senderStats() {
    const out = {};
    if (!this.pc) return out;
    const report = await this.pc.getStats();
    report.forEach((s) => {
      if (s.type === "outbound-rtp" && s.kind === "video") {
        Object.assign(out, { width: s.frameWidth, height: s.frameHeight, fps: s.framesPerSecond, reason: s.qualityLimitationReason,
          pli: s.pliCount, nack: s.nackCount, fir: s.firCount, bytesSent: s.bytesSent, retransmittedBytes: s.retransmittedBytesSent, target: s.targetBitrate });
      }
      if (s.type === "outbound-rtp" && s.kind === "audio") out.audioBytesSent = s.bytesSent;
      if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded" && s.availableOutgoingBitrate !== undefined) {
        out.availableOutgoingBitrate = s.availableOutgoingBitrate;
      }
    });
    return out;
  }

  /** What the browser decoded and sent, from its own getStats(). */
  async stats() {
    const out = { state: this.state, video: {}, audio: {}, sent: {}, log: this.log.slice(-20), timeline: this.timeline ?? [] };
    if (this.final) return { ...this.final, state: this.state, log: out.log };
    if (!this.pc) return out;
    const report = await this.pc.getStats();
    const codecs = {};
    report.forEach((s) => { if (s.type === "codec") codecs[s.id] = s.mimeType; });
    report.forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "video") out.video = { framesDecoded: s.framesDecoded, width: s.frameWidth, height: s.frameHeight, codec: codecs[s.codecId] };
      if (s.type === "inbound-rtp" && s.kind === "audio") out.audio = { samples: s.totalSamplesReceived, concealed: s.concealedSamples, codec: codecs[s.codecId], level: s.audioLevel };
      if (s.type === "outbound-rtp" && s.kind === "video") out.sent = { framesEncoded: s.framesEncoded, codec: codecs[s.codecId] };
    });
    return out;
  }
}

window.Peer = Peer;
