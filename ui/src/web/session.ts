// A guest's call, in the browser's own WebRTC (docs/protocol.md §2.2, §4, §4.2). The guest
// invites its host (NX call_invitation); the host accepts (a 1:1 call, the guest offers) or, for
// a room link, admits. A host already in a call admits the guest into that call: the host's own
// invitation for its room, listing every member, arrives instead of an answer; the guest then
// holds one leg per member (the host offers on its leg, and between the guest and any other
// member the later joiner offers), until everyone else has left or the guest hangs up.

import { NxClient, type Signal } from "./nx";
import { Leg, type LegStats } from "./leg";
import type { Pass } from "./api";

export type Phase = "connecting" | "ringing" | "connected" | "reconnecting" | "declined" | "ended" | "failed";

/** A connection-quality level from round-trip time and loss, as a calling app shows bars. */
export type Quality = "good" | "fair" | "poor" | "unknown";

export function qualityOf(rttMs: number | undefined, lossPct: number | undefined): Quality {
  if (rttMs === undefined && lossPct === undefined) return "unknown";
  const rtt = rttMs ?? 0;
  const loss = lossPct ?? 0;
  if (rtt > 400 || loss > 8) return "poor";
  if (rtt > 150 || loss > 2) return "fair";
  return "good";
}

/** Of two members, whether the first offers to the second: the later joiner, by announced join
 * time and then NX ID (protocol.md §4.2 rule 3; the same comparison as Simu's `Roster`). */
export function laterJoiner(mine: number, me: string, theirs: number, them: string): boolean {
  return mine !== theirs ? mine > theirs : me > them;
}

/** One other member as the page shows it. */
export interface Tile {
  jid: string;
  stream?: MediaStream;
  /** Whether its camera is on, as it says (`media_state`). */
  video: boolean;
}

export interface SessionEvents {
  phase: (p: Phase, why?: string) => void;
  tiles: (tiles: Tile[]) => void;
}

/** How long the host may take to answer before the page gives up. */
const RING_MS = 60_000;
/** Most members the page holds legs to (a mesh call's limit on simu-server). */
const MAX_MEMBERS = 16;

interface Member {
  /** When it joined, as it announced (`group_joined`). */
  joinedAt?: number;
  /** This side told it when it joined. */
  told: boolean;
  video: boolean;
  stream?: MediaStream;
  leg?: Leg;
  /** Candidates that came before its leg. */
  early: RTCIceCandidateInit[];
}

const bare = (jid: string) => jid.split("/")[0].toLowerCase();

export class GuestSession {
  private nx: NxClient;
  private ringTimer: ReturnType<typeof setTimeout> | undefined;
  private members = new Map<string, Member>();
  private readonly me: string;
  private readonly host: string;
  private joinedAt = 0;
  /** The call the guest is in: its own (a 1:1 call with the host), or the host's call it was let into. */
  room: string;
  /** Let into a call under way (its members are more than the host). */
  group = false;
  phase: Phase = "connecting";
  connectedAt = 0;

  constructor(
    private pass: Pass,
    private local: MediaStream,
    private on: SessionEvents,
  ) {
    this.me = bare(pass.jid);
    this.host = bare(pass.host);
    this.room = pass.room;
    this.nx = new NxClient(pass.nxws, pass.jid, pass.token, {
      signal: (s, from) => void this.signal(s, bare(from)).catch((e) => this.fail(String(e))),
      closed: () => {
        if (this.phase === "connected" || this.phase === "ringing" || this.phase === "connecting") this.fail("The connection to the server closed.");
      },
    });
  }

  /** Signs in with the pass and rings (or knocks at) the host. */
  async start(): Promise<void> {
    await this.nx.connect();
    this.set("ringing");
    this.nx.send(this.pass.host, {
      type: "call_invitation",
      roomId: this.pass.room,
      callType: this.hasVideo() ? "video" : "audio",
      fromNxId: this.pass.jid,
      fromName: this.pass.name,
      timestamp: Date.now(),
      // A room link's visitor asks to be let in; the owner's app shows its lobby.
      ...(this.pass.kind === "room" ? { knock: true } : {}),
    });
    this.ringTimer = setTimeout(() => {
      if (this.phase === "ringing") {
        this.nx.send(this.pass.host, { type: "call_end", roomId: this.pass.room, timestamp: Date.now() });
        this.finish("declined", "noAnswer");
      }
    }, RING_MS);
  }

  hasVideo(): boolean {
    return this.local.getVideoTracks().some((t) => t.readyState === "live");
  }

  setMuted(muted: boolean): void {
    for (const t of this.local.getAudioTracks()) t.enabled = !muted;
    this.mediaState();
  }

  setCamera(on: boolean): void {
    for (const t of this.local.getVideoTracks()) t.enabled = on;
    this.mediaState();
  }

  /** Puts `track` in place of the one of its kind on every leg (a device switch). */
  async replaceTrack(track: MediaStreamTrack): Promise<void> {
    await Promise.all(this.legs().map((l) => l.replaceTrack(track)));
  }

  hangUp(): void {
    this.leave("ended");
  }

  /** Tells everyone in the call (or the host it rings) that this side leaves, and ends as `p`. */
  private leave(p: Phase, why?: string): void {
    if (this.phase === "ended" || this.phase === "failed" || this.phase === "declined") return;
    const everyone = this.members.size ? [...this.members.keys()] : [this.host];
    for (const m of everyone) this.nx.send(m, { type: "call_end", roomId: this.room, timestamp: Date.now() });
    this.finish(p, why);
  }

  /** Round-trip time (ms, the worst leg's) and received-packet loss (%) from the browser's own statistics. */
  async quality(): Promise<{ rtt?: number; loss?: number }> {
    const all = await this.legStats();
    const rtts = all.map(([, s]) => s.rtt).filter((r): r is number => r !== undefined);
    const lost = all.reduce((n, [, s]) => n + s.lost, 0);
    const received = all.reduce((n, [, s]) => n + s.received, 0);
    return { rtt: rtts.length ? Math.max(...rtts) : undefined, loss: received + lost > 0 ? (100 * lost) / (received + lost) : undefined };
  }

  /** What this browser decoded and sent, in all and per member, from its own getStats() (also
   * read by the e2e tests through `window.simuCall`). */
  async stats(): Promise<{
    phase: Phase;
    room: string;
    video: { framesDecoded: number; width?: number; height?: number };
    audio: { samples: number };
    sent: { framesEncoded: number };
    members: ({ jid: string } & LegStats)[];
  }> {
    const all = await this.legStats();
    const first = all.find(([, s]) => s.width);
    return {
      phase: this.phase,
      room: this.room,
      video: { framesDecoded: all.reduce((n, [, s]) => n + s.framesDecoded, 0), width: first?.[1].width, height: first?.[1].height },
      audio: { samples: all.reduce((n, [, s]) => n + s.samples, 0) },
      sent: { framesEncoded: Math.max(0, ...all.map(([, s]) => s.framesEncoded)) },
      members: all.map(([jid, s]) => ({ jid, ...s })),
    };
  }

  private legs(): Leg[] {
    return [...this.members.values()].flatMap((m) => (m.leg ? [m.leg] : []));
  }

  private async legStats(): Promise<[string, LegStats][]> {
    const out: [string, LegStats][] = [];
    for (const [jid, m] of this.members) if (m.leg) out.push([jid, await m.leg.stats()]);
    return out;
  }

  private mediaState(): void {
    if (this.phase !== "connected") return;
    const on = (ts: MediaStreamTrack[]) => ts.some((t) => t.enabled && t.readyState === "live");
    for (const m of this.members.keys()) this.nx.send(m, { type: "media_state", roomId: this.room, audio: on(this.local.getAudioTracks()), video: on(this.local.getVideoTracks()) });
  }

  private set(p: Phase, why?: string): void {
    this.phase = p;
    this.on.phase(p, why);
  }

  private fail(why: string): void {
    if (this.phase === "ended" || this.phase === "declined" || this.phase === "failed") return;
    this.finish("failed", why);
  }

  private finish(p: Phase, why?: string): void {
    clearTimeout(this.ringTimer);
    for (const l of this.legs()) l.close();
    this.members.clear();
    this.nx.close();
    this.set(p, why);
  }

  private tiles(): void {
    this.on.tiles([...this.members].filter(([, m]) => m.joinedAt !== undefined || m.leg).map(([jid, m]) => ({ jid, stream: m.stream, video: m.video })));
  }

  /** A member this side has heard of (invited, or told of by a member). */
  private learn(jid: string): Member | undefined {
    if (jid === this.me) return undefined;
    let m = this.members.get(jid);
    if (!m && this.members.size < MAX_MEMBERS) {
      m = { told: false, video: true, early: [] };
      this.members.set(jid, m);
    }
    return m;
  }

  /** Tells `jid` when this side joined, once. */
  private announce(jid: string, m: Member): void {
    if (m.told) return;
    m.told = true;
    this.nx.send(jid, { type: "group_joined", roomId: this.room, joinedAt: this.joinedAt });
  }

  private openLeg(jid: string, m: Member): Leg {
    const leg = new Leg(this.pass.ice_servers, this.local, this.pass.type === "video", {
      candidate: (c) => this.nx.send(jid, { type: "webrtc_ice_candidate", roomId: this.room, candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex }),
      media: (s) => {
        m.stream = s;
        this.tiles();
      },
      state: (s) => this.legState(jid, s),
    });
    m.leg = leg;
    for (const c of m.early.splice(0)) void leg.candidate(c);
    this.tiles();
    return leg;
  }

  private async offerTo(jid: string, m: Member): Promise<void> {
    const sdp = await this.openLeg(jid, m).offer();
    this.nx.send(jid, { type: "webrtc_offer", roomId: this.room, sdp, sdp_type: "offer" });
  }

  private legState(jid: string, s: string): void {
    if (s === "connected") {
      if (!this.connectedAt) this.connectedAt = Date.now();
      if (this.phase !== "connected") {
        this.set("connected");
        this.mediaState();
      }
    } else if (s === "disconnected" && this.phase === "connected" && !this.legs().some((l) => l.connected && l.pc.connectionState === "connected")) {
      this.set("reconnecting");
    } else if (s === "failed") {
      // One member's path failing leaves the others; the last one failing ends the call.
      if (this.legs().some((l) => l.pc.connectionState === "connected")) this.left(jid);
      else this.fail("The media connection failed.");
    }
  }

  /** `jid` left the call (or its leg gave up): its tile goes; with nobody left the call is over. */
  private left(jid: string): void {
    this.members.get(jid)?.leg?.close();
    this.members.delete(jid);
    if (this.members.size === 0) this.finish("ended");
    else this.tiles();
  }

  /** The host let the guest into the call it is in: the host's invitation lists its members. */
  private admitted(s: Signal): void {
    clearTimeout(this.ringTimer);
    this.room = String(s.roomId);
    this.group = true;
    this.joinedAt = Date.now();
    const listed = Array.isArray(s.participants) ? s.participants.map((p) => bare(String(p))) : [];
    for (const jid of [this.host, ...listed]) this.learn(jid);
    this.nx.send(this.pass.host, { type: "call_response", roomId: this.room, accepted: true, timestamp: Date.now() });
    for (const [jid, m] of this.members) this.announce(jid, m);
    this.set("connecting");
  }

  private async signal(s: Signal, from: string): Promise<void> {
    if (s.type === "call_invitation") {
      // Only the host's invitation into the call it is in, while knocking.
      if (from === this.host && this.phase === "ringing" && s.roomId && s.roomId !== this.room) this.admitted(s);
      return;
    }
    if (s.roomId !== this.room) return;
    const m = this.members.get(from);
    if (from !== this.host && !m) return;
    switch (s.type) {
      case "call_response":
      case "call_accepted": {
        if (from !== this.host || this.phase !== "ringing") return;
        if (s.type === "call_response" && s.accepted !== true) {
          // The server ends the pass with a refusal, so there is no waiting for a reason.
          this.finish("declined", this.pass.kind === "room" ? "denied" : "declined");
          return;
        }
        clearTimeout(this.ringTimer);
        this.set("connecting");
        this.joinedAt = Date.now();
        const hostMember = this.learn(this.host);
        if (!hostMember) return;
        // The guest invited the host, so it offers; announcing lets the host add people later.
        await this.offerTo(this.host, hostMember);
        this.announce(this.host, hostMember);
        return;
      }
      case "group_joined": {
        if (!m || typeof s.joinedAt !== "number") return;
        m.joinedAt = s.joinedAt;
        this.announce(from, m);
        // The host let us in and offers itself; with anyone else the later joiner offers.
        if (!m.leg && from !== this.host && laterJoiner(this.joinedAt, this.me, s.joinedAt, from)) await this.offerTo(from, m);
        this.tiles();
        return;
      }
      case "group_invited": {
        if (!m || (from !== this.host && m.joinedAt === undefined)) return;
        if (s.sfu === true) {
          this.leave("failed", "The call moved to a conference server, which this page cannot join yet.");
          return;
        }
        if (Array.isArray(s.participants)) for (const p of s.participants) this.learn(bare(String(p)));
        return;
      }
      case "webrtc_offer": {
        const member = m ?? this.learn(from);
        if (!member) return;
        const leg = member.leg ?? this.openLeg(from, member);
        const sdp = await leg.answer(String(s.sdp ?? ""));
        this.nx.send(from, { type: "webrtc_answer", roomId: this.room, sdp, sdp_type: "answer" });
        return;
      }
      case "webrtc_answer":
        await m?.leg?.remote({ type: "answer", sdp: String(s.sdp ?? "") });
        return;
      case "webrtc_ice_candidate": {
        const c: RTCIceCandidateInit = { candidate: String(s.candidate ?? ""), sdpMid: (s.sdpMid as string | null) ?? null, sdpMLineIndex: (s.sdpMLineIndex as number | null) ?? null };
        const member = m ?? this.learn(from);
        if (member?.leg) await member.leg.candidate(c);
        else if (member && member.early.length < 64) member.early.push(c);
        return;
      }
      case "media_state":
        if (m) {
          m.video = s.video !== false;
          this.tiles();
        }
        return;
      case "call_end":
        // Ended before it was answered: a host in another call says so (`reason: busy`).
        if (this.phase === "ringing" && from === this.host) this.finish("declined", s.reason === "busy" ? "busy" : this.pass.kind === "room" ? "denied" : "declined");
        else this.left(from);
        return;
    }
  }
}
