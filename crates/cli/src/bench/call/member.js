// A browser member of a group call on the conference server, written from docs/protocol.md
// §4.2-4.3 independently of Simu's Rust code: NX over XMPP-WebSocket (`Peer`, peer.js) for
// membership and feed claims, and Janus's WebSocket API with the browser's own
// RTCPeerConnection for media (one publishing connection, one multistream subscription).
// Driven by tests/interop/conference.test.mjs and `simu bench group --chromium` (bench/group_tabs.rs).

/** Janus's WebSocket API (`janus-protocol`): requests matched to replies by transaction. */
class Janus {
  constructor(url, token, log) {
    Object.assign(this, { url, token, log });
    this.pending = new Map();
    this.handlers = new Map();
  }

  async open() {
    this.ws = new WebSocket(this.url, "janus-protocol");
    this.ws.onmessage = (m) => this.receive(JSON.parse(String(m.data)));
    await new Promise((ok, fail) => { this.ws.onopen = ok; this.ws.onerror = () => fail(new Error("janus websocket failed")); });
    this.session = (await this.request({ janus: "create" })).data.id;
    this.keepalive = setInterval(() => this.request({ janus: "keepalive", session_id: this.session }, true).catch(() => {}), 25000);
  }

  /** Sends `body`; resolves with the reply (an async plugin request's event, not its ack,
   * unless `ackOnly`), rejects on an error reply or after 10 s. */
  request(body, ackOnly = false) {
    const transaction = Math.random().toString(36).slice(2);
    this.ws.send(JSON.stringify({ ...body, transaction, token: this.token }));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.pending.delete(transaction); reject(new Error(`janus ${body.janus} timed out`)); }, 10000);
      this.pending.set(transaction, { ackOnly, resolve, reject, timer });
    });
  }

  receive(msg) {
    const p = this.pending.get(msg.transaction);
    if (p && (msg.janus !== "ack" || p.ackOnly)) {
      this.pending.delete(msg.transaction);
      clearTimeout(p.timer);
      const error = msg.error ?? msg.plugindata?.data?.error;
      if (msg.janus === "error" || error) p.reject(new Error(`janus: ${JSON.stringify(error ?? msg)}`));
      else p.resolve(msg);
      return;
    }
    if (p) return; // the ack of an async request; its event follows
    if (msg.janus === "event" || msg.janus === "hangup") this.handlers.get(msg.sender)?.(msg);
  }

  async attach(onEvent) {
    const id = (await this.request({ janus: "attach", session_id: this.session, plugin: "janus.plugin.videoroom" })).data.id;
    this.handlers.set(id, onEvent);
    return id;
  }

  message(handle, body, jsep) {
    return this.request({ janus: "message", session_id: this.session, handle_id: handle, body, ...(jsep ? { jsep } : {}) });
  }

  trickle(handle, candidate) {
    const c = candidate ? { candidate: candidate.candidate, sdpMid: candidate.sdpMid, sdpMLineIndex: candidate.sdpMLineIndex } : { completed: true };
    this.request({ janus: "trickle", session_id: this.session, handle_id: handle, candidate: c }, true).catch((e) => this.log.push(`trickle: ${e}`));
  }

  close() {
    clearInterval(this.keepalive);
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ janus: "destroy", session_id: this.session, transaction: "bye", token: this.token }));
    this.ws?.close();
  }
}

/** One member: answers a conference invitation, publishes, and receives each feed that a joined
 * member claimed over NX and Janus says publishes (never by Janus's `display`). */
class Member extends window.Peer {
  constructor(cfg) {
    super(cfg);
    this.joined = new Set(); // NX IDs of members in the call
    this.told = new Set(); // members we sent our group_joined
    this.claims = new Map(); // feed -> NX ID, from sfu_feed
    this.published = new Set(); // feeds Janus says publish
    this.subscribed = new Set();
    this.trackFeed = new Map(); // received track id -> feed
    this.decoded = {}; // NX ID -> the most decoded from that member, kept after it leaves
    this.queue = Promise.resolve(); // subscription changes, one at a time
    this.video = cfg.video; // camera constraints (the bench asks for what a Simu member sends)
  }

  async media() {
    if (!this.stream) this.stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: this.video ?? { width: 1280, height: 720, frameRate: 30 } });
    return this.stream;
  }

  async signal(m, from) {
    this.log.push(`<- ${m.type}`);
    const who = (from ?? "").split("/")[0];
    if (m.type === "call_invitation") {
      if (this.state !== "idle" || !m.sfu) { this.send(who, { type: "call_response", roomId: m.roomId, accepted: false, timestamp: Date.now() }); return; }
      this.room = m.roomId;
      this.state = "answering";
      this.invitedAt = Date.now();
      this.members = new Set((m.participants ?? []).filter((p) => p !== this.jid.split("/")[0]));
      this.members.add(who);
      this.joined.add(who);
      this.send(who, { type: "call_response", roomId: this.room, accepted: true, timestamp: Date.now() });
      this.joinedAt = Date.now();
      for (const p of this.members) this.announce(p);
      try { await this.join(); } catch (e) { this.log.push(`join failed: ${e}`); this.state = "failed"; }
      return;
    }
    if (m.roomId !== this.room || !this.members?.has(who)) return;
    if (m.type === "group_joined" || (m.type === "call_response" && m.accepted)) {
      this.joined.add(who);
      this.announce(who);
      this.tellFeed(who);
    } else if (m.type === "group_invited") {
      if (this.joined.has(who)) for (const p of m.participants ?? []) this.members.add(p);
    } else if (m.type === "sfu_feed") {
      if (!this.joined.has(who) || m.feed === this.feed || this.claims.has(m.feed) || [...this.claims.values()].includes(who)) return;
      this.claims.set(m.feed, who);
      this.update();
    } else if (m.type === "call_end") {
      await this.stats(); // what the leaver's streams brought, before they go
      this.joined.delete(who);
      this.members.delete(who);
      for (const [feed, owner] of this.claims) if (owner === who) { this.claims.delete(feed); this.published.delete(feed); }
      this.update();
      if (this.joined.size === 0) await this.leave();
    }
  }

  /** Our group_joined, once per member. */
  announce(to) {
    if (this.told.has(to)) return;
    this.told.add(to);
    this.send(to, { type: "group_joined", roomId: this.room, joinedAt: this.joinedAt });
  }

  tellFeed(to) {
    if (this.feed !== undefined) this.send(to, { type: "sfu_feed", roomId: this.room, feed: this.feed });
  }

  /** Fetches the grant, joins the Janus room as publisher, publishes, then claims the feed. */
  async join() {
    const r = await fetch(`${this.rest}/api/v1.0/nx/group-call/${encodeURIComponent(this.room)}/sfu/`, { headers: this.headers() });
    if (!r.ok) throw new Error(`grant refused: ${r.status} ${await r.text()}`);
    this.grant = await r.json();
    this.janus = new Janus(this.grant.url, this.grant.token, this.log);
    await this.janus.open();
    this.pub = await this.janus.attach((e) => this.roomEvent(e));
    const joined = (await this.janus.message(this.pub, { request: "join", ptype: "publisher", room: this.grant.janus_room, token: this.grant.room_token, display: "chromium" })).plugindata.data;
    this.privateId = joined.private_id;
    for (const p of joined.publishers ?? []) this.published.add(p.id);
    const pc = new RTCPeerConnection({ iceServers: [] });
    pc.onicecandidate = (e) => this.janus.trickle(this.pub, e.candidate);
    pc.onconnectionstatechange = () => {
      this.log.push(`publisher ${pc.connectionState}`);
      if (pc.connectionState === "connected") { this.state = "connected"; this.connectedAt = Date.now(); }
    };
    const stream = await this.media();
    for (const t of stream.getTracks()) pc.addTrack(t, stream);
    this.pc = pc;
    await pc.setLocalDescription(await pc.createOffer());
    const published = await this.janus.message(this.pub, { request: "publish", audio: true, video: true }, { type: "offer", sdp: pc.localDescription.sdp });
    await pc.setRemoteDescription(published.jsep);
    this.feed = joined.id;
    for (const p of this.joined) this.tellFeed(p);
    this.update();
  }

  /** Janus's room events on the publishing handle: who publishes, who stopped. */
  roomEvent(e) {
    const d = e.plugindata?.data ?? {};
    for (const p of d.publishers ?? []) this.published.add(p.id);
    for (const gone of [d.unpublished, d.leaving]) if (gone !== undefined && gone !== "ok") this.published.delete(gone);
    this.update();
  }

  /** Brings the subscription in line with what is both claimed and published. */
  update() {
    this.queue = this.queue.then(() => this.resubscribe()).catch((e) => this.log.push(`subscription: ${e}`));
  }

  async resubscribe() {
    if (this.privateId === undefined || this.state === "ended") return;
    const want = [...this.claims.keys()].filter((f) => this.published.has(f));
    const add = want.filter((f) => !this.subscribed.has(f));
    const drop = [...this.subscribed].filter((f) => !want.includes(f));
    if (!this.sub && add.length) {
      this.sub = await this.janus.attach((e) => { if (e.jsep?.type === "offer") this.queue = this.queue.then(() => this.answer(e.jsep)); });
      this.subPc = new RTCPeerConnection({ iceServers: [] });
      this.subPc.onicecandidate = (e) => this.janus.trickle(this.sub, e.candidate);
      this.subPc.ontrack = (e) => this.play(e);
      const r = await this.janus.message(this.sub, { request: "join", ptype: "subscriber", room: this.grant.janus_room, token: this.grant.room_token, private_id: this.privateId, use_msid: true, streams: add.map((feed) => ({ feed })) });
      add.forEach((f) => this.subscribed.add(f));
      await this.answer(r.jsep);
      return;
    }
    if (!this.sub) return;
    if (drop.length) {
      const r = await this.janus.message(this.sub, { request: "unsubscribe", streams: drop.map((feed) => ({ feed })) });
      drop.forEach((f) => this.subscribed.delete(f));
      if (r.jsep) await this.answer(r.jsep);
    }
    if (add.length) {
      const r = await this.janus.message(this.sub, { request: "subscribe", streams: add.map((feed) => ({ feed })) });
      add.forEach((f) => this.subscribed.add(f));
      if (r.jsep) await this.answer(r.jsep);
    }
  }

  /** Answers Janus's subscription offer and starts (or resumes) receiving. */
  async answer(offer) {
    await this.subPc.setRemoteDescription(offer);
    await this.subPc.setLocalDescription(await this.subPc.createAnswer());
    await this.janus.message(this.sub, { request: "start" }, { type: "answer", sdp: this.subPc.localDescription.sdp });
  }

  /** Plays a received track (so Chromium decodes it); its stream id is its feed (`use_msid`). */
  play(e) {
    const feed = Number(e.streams[0]?.id);
    this.trackFeed.set(e.track.id, feed);
    const el = document.createElement(e.track.kind === "audio" ? "audio" : "video");
    Object.assign(el, { autoplay: true, muted: e.track.kind === "video", srcObject: new MediaStream([e.track]) });
    document.body.append(el);
  }

  /** Leaves the call: `call_end` to every joined member, then out of the room. */
  async hangUp() {
    for (const p of this.joined) this.send(p, { type: "call_end", roomId: this.room, timestamp: Date.now() });
    await this.leave();
  }

  async leave() {
    this.final = await this.stats();
    this.state = "ended";
    this.janus?.close();
    this.pc?.close();
    this.subPc?.close();
  }

  /** What this member decoded from each other member (by NX ID, kept after they leave) and
   * what it sent. */
  async stats() {
    if (this.final) return { ...this.final, log: this.log.slice(-30) };
    if (this.subPc) {
      (await this.subPc.getStats()).forEach((s) => {
        if (s.type !== "inbound-rtp") return;
        const who = this.claims.get(this.trackFeed.get(s.trackIdentifier));
        if (!who) return;
        const m = (this.decoded[who] ??= { videoFrames: 0, audioSamples: 0, bytes: {} });
        m.bytes[s.kind] = Math.max(m.bytes[s.kind] ?? 0, s.bytesReceived ?? 0); // payload only
        if (s.kind === "video") Object.assign(m, { videoFrames: Math.max(m.videoFrames, s.framesDecoded ?? 0), width: s.frameWidth, height: s.frameHeight });
        else m.audioSamples = Math.max(m.audioSamples, s.totalSamplesReceived ?? 0);
      });
    }
    const out = { state: this.state, feed: this.feed, invitedAt: this.invitedAt, members: structuredClone(this.decoded), sent: {}, log: this.log.slice(-30) };
    if (this.pc) (await this.pc.getStats()).forEach((s) => { if (s.type === "outbound-rtp") out.sent[s.kind] = s.kind === "video" ? s.framesEncoded : s.packetsSent; });
    return out;
  }
}

window.Member = Member;
