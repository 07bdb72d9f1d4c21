// Camera and microphone for the call page: opening them, listing them, and a level meter.

/** The camera (unless audio only) and microphone, the chosen devices if any. */
export async function openMedia(audioOnly: boolean, cameraId: string, micId: string): Promise<MediaStream> {
  const audio: MediaTrackConstraints = { echoCancellation: true, noiseSuppression: true, ...(micId ? { deviceId: { exact: micId } } : {}) };
  const video: MediaTrackConstraints | false = audioOnly ? false : { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 }, ...(cameraId ? { deviceId: { exact: cameraId } } : {}) };
  try {
    return await navigator.mediaDevices.getUserMedia({ audio, video });
  } catch (e) {
    // No camera (or it is busy): a microphone alone still makes a call.
    if (video) return navigator.mediaDevices.getUserMedia({ audio });
    throw e;
  }
}

export async function listDevices(): Promise<{ cameras: MediaDeviceInfo[]; mics: MediaDeviceInfo[] }> {
  const all = await navigator.mediaDevices.enumerateDevices();
  return { cameras: all.filter((d) => d.kind === "videoinput"), mics: all.filter((d) => d.kind === "audioinput") };
}

/** The microphone's level (0..1, RMS scaled) about 15 times a second. */
export class MicMeter {
  private ctx: AudioContext | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(stream: MediaStream, level: (v: number) => void) {
    if (!stream.getAudioTracks().length || typeof AudioContext === "undefined") return;
    this.ctx = new AudioContext();
    const analyser = this.ctx.createAnalyser();
    analyser.fftSize = 1024;
    this.ctx.createMediaStreamSource(stream).connect(analyser);
    const buf = new Float32Array(analyser.fftSize);
    this.timer = setInterval(() => {
      analyser.getFloatTimeDomainData(buf);
      let sum = 0;
      for (const x of buf) sum += x * x;
      level(Math.min(1, Math.sqrt(sum / buf.length) * 4));
    }, 66);
  }

  stop(): void {
    clearInterval(this.timer);
    void this.ctx?.close();
  }
}
