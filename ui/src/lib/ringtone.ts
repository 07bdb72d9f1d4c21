// A two-tone ring made with Web Audio, repeated until stopped (no audio files to ship).

/** One sine note of `f` Hz from `at` seconds on, `len` seconds long, at `gain`. */
function tone(ctx: AudioContext, f: number, at: number, len: number, gain: number) {
  const o = ctx.createOscillator();
  const g = ctx.createGain();
  o.frequency.value = f;
  g.gain.setValueAtTime(gain, ctx.currentTime + at);
  g.gain.setValueAtTime(0, ctx.currentTime + at + len);
  o.connect(g).connect(ctx.destination);
  o.start(ctx.currentTime + at);
  o.stop(ctx.currentTime + at + len + 0.02);
}

export class Ringtone {
  private ctx: AudioContext | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;

  start() {
    if (this.timer || typeof AudioContext === "undefined") return;
    this.ctx = new AudioContext();
    const burst = () => {
      const ctx = this.ctx;
      if (!ctx) return;
      for (const [f, at] of [[440, 0], [480, 0], [440, 0.5], [480, 0.5]] as const) tone(ctx, f, at, 0.4, 0.05);
    };
    burst();
    this.timer = setInterval(burst, 3000);
  }

  /** One soft two-note chime during a call (someone knocks), which does not drown the call. */
  chime() {
    if (typeof AudioContext === "undefined") return;
    const ctx = new AudioContext();
    for (const [f, at] of [[660, 0], [880, 0.18]] as const) tone(ctx, f, at, 0.16, 0.04);
    setTimeout(() => void ctx.close(), 1000);
  }

  stop() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.ctx?.close();
    this.ctx = null;
  }
}
