// One guest call with the link's owner, in the browser's own WebRTC: the guest invites (NX
// call_invitation), the host accepts (or, for a room link, admits), the guest offers, and the
// two trade candidates until either side sends call_end (docs/protocol.md §4).

import { NxClient, type Signal } from "./nx";
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

export interface SessionEvents {
  phase: (p: Phase, why?: string) => void;
  remote: (stream: MediaStream) => void;
  remoteMedia: (audio: boolean, video: boolean) => void;
}

/** How long the host may take to answer before the page gives up. */
const RING_MS = 60_000;

export class GuestSession {
  private nx: NxClient;
  private pc: RTCPeerConnection | null = null;
  private pending: RTCIceCandidateInit[] = [];
  private remoteStream = new MediaStream();
  private ringTimer: ReturnType<typeof setTimeout> | undefined;
  phase: Phase = "connecting";
  connectedAt = 0;
  firstFrameAt = 0;

  constructor(
    private pass: Pass,
    private local: MediaStream,
    private on: SessionEvents,
  ) {
    this.nx = new NxClient(pass.nxws, pass.jid, pass.token, {
      signal: (s, from) => void this.signal(s, from).catch((e) => this.fail(String(e))),
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

  /** Puts `track` in place of the sender's track of its kind (a device switch). */
  async replaceTrack(track: MediaStreamTrack): Promise<void> {
    const sender = this.pc?.getSenders().find((s) => s.track?.kind === track.kind);
    await sender?.replaceTrack(track);
  }

  hangUp(): void {
    if (this.phase === "ended" || this.phase === "failed" || this.phase === "declined") return;
    this.nx.send(this.pass.host, { type: "call_end", roomId: this.pass.room, timestamp: Date.now() });
    this.finish("ended");
  }

  /** Round-trip time (ms) and received-packet loss (%) from the browser's own statistics. */
  async quality(): Promise<{ rtt?: number; loss?: number; framesDecoded: number }> {
    let rtt: number | undefined;
    let lost = 0;
    let received = 0;
    let framesDecoded = 0;
    const report = await this.pc?.getStats();
    report?.forEach((s) => {
      if (s.type === "candidate-pair" && s.nominated && s.currentRoundTripTime !== undefined) rtt = s.currentRoundTripTime * 1000;
      if (s.type === "inbound-rtp") {
        lost += s.packetsLost ?? 0;
        received += s.packetsReceived ?? 0;
        if (s.kind === "video") framesDecoded = s.framesDecoded ?? 0;
      }
    });
    const loss = received + lost > 0 ? (100 * lost) / (received + lost) : undefined;
    return { rtt, loss, framesDecoded };
  }

  /** What this browser decoded and sent, from its own getStats() (also read by the e2e tests
   * through `window.simuCall`). */
  async stats(): Promise<{ phase: Phase; video: { framesDecoded: number; width?: number; height?: number }; audio: { samples: number }; sent: { framesEncoded: number } }> {
    const out = { phase: this.phase, video: { framesDecoded: 0 } as { framesDecoded: number; width?: number; height?: number }, audio: { samples: 0 }, sent: { framesEncoded: 0 } };
    const report = await this.pc?.getStats();
    report?.forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "video") out.video = { framesDecoded: s.framesDecoded ?? 0, width: s.frameWidth, height: s.frameHeight };
      if (s.type === "inbound-rtp" && s.kind === "audio") out.audio = { samples: s.totalSamplesReceived ?? 0 };
      if (s.type === "outbound-rtp" && s.kind === "video") out.sent = { framesEncoded: s.framesEncoded ?? 0 };
    });
    return out;
  }

  private mediaState(): void {
    if (this.phase !== "connected") return;
    const on = (ts: MediaStreamTrack[]) => ts.some((t) => t.enabled && t.readyState === "live");
    this.nx.send(this.pass.host, { type: "media_state", roomId: this.pass.room, audio: on(this.local.getAudioTracks()), video: on(this.local.getVideoTracks()) });
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
    this.pc?.close();
    this.pc = null;
    this.nx.close();
    this.set(p, why);
  }

  private makePc(): RTCPeerConnection {
    const pc = new RTCPeerConnection({ iceServers: this.pass.ice_servers });
    pc.onicecandidate = (e) => {
      if (e.candidate) {
        this.nx.send(this.pass.host, { type: "webrtc_ice_candidate", roomId: this.pass.room, candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid, sdpMLineIndex: e.candidate.sdpMLineIndex });
      }
    };
    pc.ontrack = (e) => {
      this.remoteStream.addTrack(e.track);
      // A new stream object each time, so the page sees the video track arrive after the audio.
      this.on.remote(new MediaStream(this.remoteStream.getTracks()));
    };
    pc.onconnectionstatechange = () => {
      const s = pc.connectionState;
      if (s === "connected") {
        if (!this.connectedAt) this.connectedAt = Date.now();
        this.set("connected");
        this.mediaState();
      } else if (s === "disconnected" && this.phase === "connected") {
        this.set("reconnecting");
      } else if (s === "failed") {
        this.fail("The media connection failed.");
      }
    };
    for (const t of this.local.getTracks()) pc.addTrack(t, this.local);
    // Without a microphone or camera the guest still hears and sees the host.
    if (!this.local.getAudioTracks().length) pc.addTransceiver("audio", { direction: "recvonly" });
    if (!this.local.getVideoTracks().length && this.pass.type === "video") pc.addTransceiver("video", { direction: "recvonly" });
    this.pc = pc;
    return pc;
  }

  private async remote(desc: RTCSessionDescriptionInit): Promise<void> {
    if (!this.pc) return;
    await this.pc.setRemoteDescription(desc);
    for (const c of this.pending.splice(0)) await this.pc.addIceCandidate(c);
  }

  private async signal(s: Signal, from: string): Promise<void> {
    if (from.split("/")[0].toLowerCase() !== this.pass.host.toLowerCase() || s.roomId !== this.pass.room) return;
    switch (s.type) {
      case "call_response":
      case "call_accepted": {
        if (s.type === "call_response" && s.accepted !== true) {
          // The server ends the pass with a refusal, so there is no waiting for a reason.
          this.finish("declined", this.pass.kind === "room" ? "denied" : "declined");
          return;
        }
        if (this.pc) return;
        clearTimeout(this.ringTimer);
        this.set("connecting");
        const pc = this.makePc();
        const offer = await pc.createOffer();
        await pc.setLocalDescription(offer);
        this.nx.send(this.pass.host, { type: "webrtc_offer", roomId: this.pass.room, sdp: offer.sdp, sdp_type: "offer" });
        return;
      }
      case "webrtc_answer":
        await this.remote({ type: "answer", sdp: String(s.sdp ?? "") });
        return;
      case "webrtc_offer": {
        // The host renegotiates (an ICE restart after a network change).
        if (!this.pc) return;
        await this.remote({ type: "offer", sdp: String(s.sdp ?? "") });
        const answer = await this.pc.createAnswer();
        await this.pc.setLocalDescription(answer);
        this.nx.send(this.pass.host, { type: "webrtc_answer", roomId: this.pass.room, sdp: answer.sdp, sdp_type: "answer" });
        return;
      }
      case "webrtc_ice_candidate": {
        const c: RTCIceCandidateInit = { candidate: String(s.candidate ?? ""), sdpMid: (s.sdpMid as string | null) ?? null, sdpMLineIndex: (s.sdpMLineIndex as number | null) ?? null };
        if (this.pc?.remoteDescription) await this.pc.addIceCandidate(c);
        else this.pending.push(c);
        return;
      }
      case "media_state":
        this.on.remoteMedia(s.audio !== false, s.video !== false);
        return;
      case "call_end":
        // Ended before it was answered: a host in another call says so (`reason: busy`).
        if (this.phase === "ringing") this.finish("declined", s.reason === "busy" ? "busy" : this.pass.kind === "room" ? "denied" : "declined");
        else this.finish("ended");
        return;
    }
  }
}
