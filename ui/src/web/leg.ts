// One peer connection to one other member of the call (a "leg", docs/protocol.md §4.2): the
// guest's camera and microphone go out on it, that member's media comes back on it.

export type LegState = "new" | "connected" | "disconnected" | "failed";

export interface LegEvents {
  candidate: (c: RTCIceCandidate) => void;
  media: (stream: MediaStream) => void;
  state: (s: LegState) => void;
}

export interface LegStats {
  framesDecoded: number;
  width?: number;
  height?: number;
  samples: number;
  framesEncoded: number;
  rtt?: number;
  lost: number;
  received: number;
}

export class Leg {
  readonly pc: RTCPeerConnection;
  private pending: RTCIceCandidateInit[] = [];
  private stream = new MediaStream();
  connected = false;

  constructor(
    iceServers: RTCIceServer[],
    local: MediaStream,
    wantVideo: boolean,
    on: LegEvents,
  ) {
    const pc = new RTCPeerConnection({ iceServers });
    pc.onicecandidate = (e) => {
      if (e.candidate) on.candidate(e.candidate);
    };
    pc.ontrack = (e) => {
      this.stream.addTrack(e.track);
      // A new stream object each time, so the page sees the video track arrive after the audio.
      on.media(new MediaStream(this.stream.getTracks()));
    };
    pc.onconnectionstatechange = () => {
      const s = pc.connectionState;
      if (s === "connected") {
        this.connected = true;
        on.state("connected");
      } else if (s === "disconnected") on.state("disconnected");
      else if (s === "failed") on.state("failed");
    };
    for (const t of local.getTracks()) pc.addTrack(t, local);
    // Without a microphone or camera the guest still hears and sees the others.
    if (!local.getAudioTracks().length) pc.addTransceiver("audio", { direction: "recvonly" });
    if (!local.getVideoTracks().length && wantVideo) pc.addTransceiver("video", { direction: "recvonly" });
    this.pc = pc;
  }

  async offer(): Promise<string | undefined> {
    const offer = await this.pc.createOffer();
    await this.pc.setLocalDescription(offer);
    return offer.sdp;
  }

  /** Applies the member's offer and returns the answer's SDP. */
  async answer(sdp: string): Promise<string | undefined> {
    await this.remote({ type: "offer", sdp });
    const answer = await this.pc.createAnswer();
    await this.pc.setLocalDescription(answer);
    return answer.sdp;
  }

  async remote(desc: RTCSessionDescriptionInit): Promise<void> {
    await this.pc.setRemoteDescription(desc);
    for (const c of this.pending.splice(0)) await this.pc.addIceCandidate(c);
  }

  /** A candidate from the member; kept until the remote description is set. */
  async candidate(c: RTCIceCandidateInit): Promise<void> {
    if (this.pc.remoteDescription) await this.pc.addIceCandidate(c);
    else if (this.pending.length < 64) this.pending.push(c);
  }

  /** Puts `track` in place of the sender's track of its kind (a device switch). */
  async replaceTrack(track: MediaStreamTrack): Promise<void> {
    await this.pc.getSenders().find((s) => s.track?.kind === track.kind)?.replaceTrack(track);
  }

  async stats(): Promise<LegStats> {
    const out: LegStats = { framesDecoded: 0, samples: 0, framesEncoded: 0, lost: 0, received: 0 };
    const report = await this.pc.getStats();
    report.forEach((s) => {
      if (s.type === "candidate-pair" && s.nominated && s.currentRoundTripTime !== undefined) out.rtt = s.currentRoundTripTime * 1000;
      if (s.type === "inbound-rtp") {
        out.lost += s.packetsLost ?? 0;
        out.received += s.packetsReceived ?? 0;
        if (s.kind === "video") Object.assign(out, { framesDecoded: s.framesDecoded ?? 0, width: s.frameWidth, height: s.frameHeight });
        if (s.kind === "audio") out.samples = s.totalSamplesReceived ?? 0;
      }
      if (s.type === "outbound-rtp" && s.kind === "video") out.framesEncoded = s.framesEncoded ?? 0;
    });
    return out;
  }

  close(): void {
    this.pc.close();
  }
}
