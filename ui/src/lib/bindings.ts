// Generated from the Rust types by src-tauri/src/bindings.rs: do not edit by hand.

/**
 * A command's failure, as the UI receives it: `{ kind, message }`.
 */
export type AppError = { kind: ErrorKind, message: string, };

/**
 * What the UI can do about an error.
 */
export type ErrorKind = "not_signed_in" | "invalid" | "refused" | "unreachable" | "server" | "call_state" | "device" | "local";

export type AppInfo = { profile: string, frames_url: string, 
/**
 * Whether pictures should go to a WebGL shader (GPU) or a plain 2D canvas (software GL).
 */
gpu: boolean, signed_in: SignedIn | null, };

/**
 * One member of the call under way, as a tile shows it.
 */
export type MemberLevel = { nx_id: string, 
/**
 * The loudness of what arrives from them now (dBFS; -100 when silent).
 */
level_dbfs: number, 
/**
 * Video frames decoded from them so far.
 */
frames: number, };

export type HistoryQueryIn = { start_date?: string, end_date?: string, call_type?: string, status?: string, participant?: string, page?: number, page_size?: number, };

export type SignedIn = { nxid: string, server: string, mode: Mode, profile: string, };

export type SignInReq = { mode: Mode, server: string, username: string, password?: string, api_key?: string, secret_key?: string, 
/**
 * The user chose to connect to a server on another machine without TLS.
 */
allow_insecure: boolean, };

/**
 * How this profile reaches a server.
 */
export type Mode = "embedded" | "remote";

/**
 * The user's device and call choices (the settings screen sends and shows these).
 */
export type DeviceChoices = { 
/**
 * Chosen devices by their stable id (`pulse:<name>` or an ALSA name; `None`: the system default).
 */
microphone: string | null, speaker: string | null, 
/**
 * The quality calls start with.
 */
default_quality: Preset, 
/**
 * The preferred video codec; `None`: Simu's default order.
 */
video_codec: VideoCodec | null, 
/**
 * The chosen camera by name (`None`: the first one found).
 */
camera: string | null, };

/**
 * What the settings screen shows: the devices there are and the user's choices.
 */
export type DeviceSettings = { inputs: Array<AudioDevice>, outputs: Array<AudioDevice>, 
/**
 * What calls can use (the synthetic pattern when no camera is present), with formats.
 */
cameras: Array<CameraChoice>, choices: DeviceChoices, };

export type CameraChoice = { name: string, 
/**
 * Sizes, pixel formats and rates the camera offers (empty if it could not be asked).
 */
formats: Array<string>, };

/**
 * The user's rules for incoming calls.
 */
export type CallRules = { 
/**
 * Incoming calls do not ring and are recorded as missed.
 */
do_not_disturb: boolean, 
/**
 * NX IDs whose calls are declined without ringing (at most `call::MAX_BLOCKED`).
 */
blocked: Array<string>, };

/**
 * What the shell's notifications say.
 */
export type NoticeTexts = { 
/**
 * Title of a missed-call notification.
 */
missed_title: string, 
/**
 * Body of a missed-call notification, before the caller's name.
 */
missed_from: string, 
/**
 * Title of an incoming video call.
 */
incoming_video: string, 
/**
 * Title of an incoming audio call.
 */
incoming_audio: string, };

/**
 * How the app runs when its window is not open.
 */
export type Background = { 
/**
 * Start Simu (in the tray) when the user logs in.
 */
start_at_login: boolean, 
/**
 * Closing the window leaves Simu in the tray, so calls still ring.
 */
keep_running: boolean, };

/**
 * What the app hears about.
 */
export type CallEvent = { "event": "state_changed", state: CallState, } | { "event": "incoming_call", room: string, caller_name: string, caller: string, call_type: CallType, 
/**
 * Who else is invited to the call (a group call); empty for a 1:1 call.
 */
others: Array<string>, 
/**
 * A guest with a room link asks to be let in (the lobby), rather than calling.
 */
knock: boolean, } | { "event": "participant", room: string, nx_id: string, membership: Membership, } | { "event": "participant_media", room: string, nx_id: string, audio: boolean, video: boolean, } | { "event": "incoming_filtered", room: string, caller: string, caller_name: string, call_type: CallType, filtered: Filtered, } | { "event": "knock", room: string, guest: string, name: string, } | { "event": "knock_withdrawn", guest: string, } | { "event": "incoming_withdrawn", room: string, outcome: Outcome, } | { "event": "call_ended", room: string, outcome: Outcome, reason: string, duration_seconds: number, } | { "event": "media_connected", room: string, } | { "event": "local_media_available", audio: boolean, video: boolean, } | { "event": "remote_media_available", kind: string, } | { "event": "reconnecting", room: string, } | { "event": "camera_lost", camera: string, now_using: string | null, message: string, } | { "event": "error", message: string, };

/**
 * Call states as the app shows them (protocol.md §4 rule 6).
 */
export type CallState = "idle" | "calling" | "incoming" | "connected" | "ended";

/**
 * Outcome of a call, as analytics and the history record it.
 */
export type Outcome = "ended" | "declined" | "cancelled" | "missed" | "failed" | "busy";

/**
 * Why an incoming call did not ring.
 */
export type Filtered = "blocked" | "do_not_disturb";

/**
 * One member's standing in the call.
 */
export type Membership = "invited" | "ringing" | "joined" | "declined" | "busy" | "missed" | "left";

export type Preset = "poor" | "medium" | "good";

/**
 * What the encoders aim for.
 */
export type Quality = { width: number, height: number, fps: number, video_kbps: number, audio_kbps: number, };

/**
 * One sample. `video`, `audio`, `videoOut`, `audioOut` carry the protocol's keys.
 */
export type StatsSample = { video: VideoIn, audio: AudioIn, videoOut: VideoOut, audioOut: AudioOut, 
/**
 * Round-trip time in ms, when measured.
 */
rttMs?: number, 
/**
 * Median capture-to-decode delay of stamped frames in the last interval, ms.
 */
glassToGlassMs?: number, codec: string, timestampMs: number, };

export type VideoIn = { bitrate: number, packetsReceived: number, packetsLost: number, bytesReceived: number, framesReceived: number, frameWidth: number, frameHeight: number, fps: number, jitterMs: number, nackCount: number, decodeErrors: number, 
/**
 * Packets that came again on the RTX flow (answers to our NACKs).
 */
retransmittedPacketsReceived: number, 
/**
 * Keyframe requests (PLI) we sent the peer.
 */
pliCount: number, };

export type AudioIn = { bitrate: number, packetsReceived: number, packetsLost: number, bytesReceived: number, jitterMs: number, framesDecoded: number, levelDbfs: number, 
/**
 * Frames played by concealment (loss, or the jitter buffer refilling).
 */
concealedFrames: number, 
/**
 * Lost frames rebuilt from in-band FEC.
 */
fecRecovered: number, 
/**
 * The jitter buffer's playout delay target.
 */
jitterBufferMs: number, };

export type VideoOut = { packetsSent: number, bytesSent: number, bitrate: number, frameWidth: number, frameHeight: number, fps: number, targetBitrate: number, framesEncoded: number, keyframes: number, 
/**
 * Resends answering the peer's NACKs (on the RTX flow when negotiated).
 */
retransmittedPacketsSent: number, retransmittedBytesSent: number, 
/**
 * The congestion controller's estimate of what the path carries, bps (0 before one).
 */
availableBitrate: number, 
/**
 * Which controller made it: `delay` (transport-wide feedback) or `loss` (resends only), or
 * `remb` when the peer's own cap is lower than either.
 */
estimator?: string, };

export type AudioOut = { packetsSent: number, bytesSent: number, bitrate: number, targetBitrate: number, };

/**
 * Call types of the NX protocol.
 */
export type CallType = "audio" | "video" | "p2p" | "group";

/**
 * Who a link asks to call, and whether with video.
 */
export type DialLink = { to: string, video: boolean, };

export type Contact = { nxid: string, name: string, 
/**
 * Presence, where the server adds it (Simu extension).
 */
status?: string | null, };

export type ContactList = { contacts: Array<Contact>, };

/**
 * One row of a user's call history.
 */
export type CallRecord = { id: number, room: string, call_type: string, status: string, duration_seconds: number, caller: string, callee: string, 
/**
 * `outgoing` or `incoming`, seen from the user asking.
 */
direction: string, 
/**
 * The other party's NX ID.
 */
peer: string, created_at: string, metadata: JsonValue, 
/**
 * Everyone in a group call (empty for a 1:1 call).
 */
participants: Array<string>, 
/**
 * The typed name of a guest let in by a call link, when the other party is one (Simu
 * extension).
 */
peer_name: string | null, };

export type HistoryPage = { count: number, next: string | null, previous: string | null, results: Array<CallRecord>, };

/**
 * A link as its owner sees it.
 */
export type CallLinkInfo = { 
/**
 * The link's key (its room).
 */
room: string, url: string, 
/**
 * `call` (the per-call link of `/nx/call-url/`) or `room` (reusable, with a lobby).
 */
kind: string, type: string, to: string, created_at: number, 
/**
 * Unix seconds.
 */
expires_at: number, };

/**
 * A video codec Simu can send and receive.
 */
export type VideoCodec = "h264" | "vp8";

/**
 * An input or output device as the user picks it.
 */
export type AudioDevice = { 
/**
 * What selects it, stable across restarts: `pulse:<Pulse name>` for a PulseAudio or
 * PipeWire device, else the name cpal (ALSA) reports.
 */
id: string, 
/**
 * What people call it (Pulse's description, or cpal's name).
 */
name: string, is_default: boolean, };

/**
 * The devices present at one moment.
 */
export type DeviceSnapshot = { inputs: Array<AudioDevice>, outputs: Array<AudioDevice>, cameras: Array<CameraInfo>, };

/**
 * A camera the user can choose.
 */
export type CameraInfo = { 
/**
 * The V4L2 device number (`/dev/videoN`).
 */
index: number, name: string, };

export type JsonValue = number | string | boolean | Array<JsonValue> | { [key in string]: JsonValue } | null;
