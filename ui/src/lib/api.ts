// Typed calls into the Rust shell (Tauri commands and events).

import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";

export type Mode = "embedded" | "remote";
export interface SignedIn { nxid: string; server: string; mode: Mode; profile: string }
export interface AppInfo { profile: string; frames_url: string; gpu: boolean; signed_in: SignedIn | null }
export interface Contact { nxid: string; name: string; status?: string }
export interface CallRecord {
  id: number; room: string; call_type: string; status: string; duration_seconds: number;
  caller: string; callee: string; direction: string; peer: string; created_at: string;
}
export interface HistoryPage { count: number; next: string | null; previous: string | null; results: CallRecord[] }
export interface HistoryQuery {
  start_date?: string; end_date?: string; call_type?: string; status?: string; participant?: string;
  page?: number; page_size?: number;
}
export interface Stats {
  video: { bitrate: number; packetsReceived: number; packetsLost: number; bytesReceived: number; framesReceived: number; frameWidth: number; frameHeight: number; fps: number; jitterMs: number };
  audio: { bitrate: number; packetsReceived: number; packetsLost: number; bytesReceived: number; jitterMs: number; levelDbfs: number; concealedFrames?: number; fecRecovered?: number; jitterBufferMs?: number };
  videoOut: { packetsSent: number; bytesSent: number; bitrate: number; frameWidth: number; frameHeight: number; fps: number; targetBitrate: number };
  audioOut: { packetsSent: number; bytesSent: number; bitrate: number; targetBitrate: number };
  rttMs?: number; glassToGlassMs?: number; codec: string; timestampMs: number;
}
export type CallEvent =
  | { event: "state_changed"; state: "idle" | "calling" | "incoming" | "connected" | "ended" }
  | { event: "incoming_call"; room: string; caller_name: string; caller: string; call_type: string }
  | { event: "incoming_withdrawn"; room: string; outcome: string }
  | { event: "call_ended"; room: string; outcome: string; reason: string; duration_seconds: number }
  | { event: "media_connected"; room: string }
  | { event: "local_media_available"; audio: boolean; video: boolean }
  | { event: "remote_media_available"; kind: string }
  | { event: "reconnecting"; room: string }
  | { event: "camera_lost"; camera: string; now_using: string | null; message: string }
  | { event: "error"; message: string };

export const api = {
  appInfo: () => invoke<AppInfo>("app_info"),
  resume: () => invoke<SignedIn | null>("resume"),
  signIn: (req: { mode: Mode; server?: string; username: string; password?: string; api_key?: string; secret_key?: string; allow_insecure?: boolean }) =>
    invoke<SignedIn>("sign_in", { req }),
  signOut: () => invoke<void>("sign_out"),
  normalize: (input: string) => invoke<string>("normalize", { input }),
  contacts: () => invoke<{ contacts: Contact[] }>("contacts"),
  history: (query: HistoryQuery) => invoke<HistoryPage>("history", { query }),
  placeCall: (to: string, video: boolean) => invoke<string>("place_call", { to, video }),
  accept: (video: boolean) => invoke<void>("accept_call", { video }),
  decline: () => invoke<void>("decline_call"),
  hangUp: () => invoke<void>("hang_up"),
  setMuted: (muted: boolean) => invoke<void>("set_muted", { muted }),
  setCamera: (on: boolean) => invoke<void>("set_camera", { on }),
  switchCamera: () => invoke<string>("switch_camera"),
  setQuality: (preset: string) => invoke("set_quality", { preset }),
  setBitrates: (videoKbps?: number, audioKbps?: number) => invoke("set_bitrates", { videoKbps, audioKbps }),
  startStats: () => invoke<void>("start_stats"),
  takeDialLink: () => invoke<DialLink | null>("take_dial_link"),
  audioDevices: () => invoke<Devices>("audio_devices"),
  chooseDevices: (microphone: string | null, speaker: string | null, defaultQuality: string, videoCodec: string, camera: string | null) =>
    invoke<void>("choose_devices", { microphone, speaker, defaultQuality, videoCodec, camera }),
  micMeterStart: (device: string | null) => invoke<void>("mic_meter_start", { device }),
  micMeterStop: () => invoke<void>("mic_meter_stop"),
  speakerTest: (device: string | null) => invoke<string>("speaker_test", { device }),
  cameraPreview: (on: boolean) => invoke<string>("camera_preview", { on }),
};

export interface AudioDevice { name: string; is_default: boolean }
export interface Devices { inputs: AudioDevice[]; outputs: AudioDevice[]; microphone: string | null; speaker: string | null; default_quality: string; video_codec: string; cameras: CameraChoice[]; camera: string | null }
export interface CameraChoice { name: string; formats: string[] }

export function onMicLevel(f: (dbfs: number) => void): Promise<UnlistenFn> {
  return listen<number>("mic-level", (e) => f(e.payload));
}

export function onMicError(f: (message: string) => void): Promise<UnlistenFn> {
  return listen<string>("mic-error", (e) => f(e.payload));
}

/** A click-to-call link (`tel:`, `simu:`) the app was opened with. */
export interface DialLink { to: string; video: boolean }

export function onDialLink(f: () => void): Promise<UnlistenFn> {
  return listen("dial-link", () => f());
}

/** New device lists when a microphone, speaker or camera comes or goes. */
export function onDevicesChanged(f: (d: { inputs: AudioDevice[]; outputs: AudioDevice[]; cameras: { index: number; name: string }[] }) => void): Promise<UnlistenFn> {
  return listen<{ inputs: AudioDevice[]; outputs: AudioDevice[]; cameras: { index: number; name: string }[] }>("devices-changed", (e) => f(e.payload));
}

export function onCallEvent(f: (e: CallEvent) => void): Promise<UnlistenFn> {
  return listen<CallEvent>("call-event", (e) => f(e.payload));
}

export function onStats(f: (s: Stats) => void): Promise<UnlistenFn> {
  return listen<Stats>("call-stats", (e) => f(e.payload));
}
