// The call page's words in English and Swahili; the language follows the browser.

const en = {
  title: "Simu call",
  checking: "Checking the link…",
  joinTitle: (host: string) => `Join ${host}'s call`,
  roomTitle: (host: string) => `Ask to join ${host}'s room`,
  yourName: "Your name",
  camera: "Camera",
  microphone: "Microphone",
  micLevel: "Microphone level",
  audioOnly: "Join without video",
  join: "Join",
  askToJoin: "Ask to join",
  openInSimu: "Open in Simu",
  noDevices: "No camera or microphone could be used. Allow access in the browser's site settings, or join without video.",
  ringing: (host: string) => `Calling ${host}…`,
  knocking: (host: string) => `Waiting for ${host} to let you in…`,
  cancel: "Cancel",
  away: (host: string) => `${host} is not available right now. They will see that you called.`,
  connecting: "Connecting…",
  reconnecting: "Connection lost: reconnecting…",
  mute: "Mute",
  unmute: "Unmute",
  cameraOff: "Turn camera off",
  cameraOn: "Turn camera on",
  hangUp: "Hang up",
  remoteCameraOff: "Camera off",
  you: "You",
  guest: "guest",
  members: (n: number) => `${n} people in the call`,
  quality: { good: "Good connection", fair: "Fair connection", poor: "Poor connection", unknown: "Measuring connection" },
  ended: "Call ended",
  endedAfter: (d: string) => `The call lasted ${d}.`,
  declined: (host: string) => `${host} declined the call.`,
  noAnswer: (host: string) => `${host} did not answer.`,
  busy: (host: string) => `${host} is in another call. Try again later.`,
  denied: (host: string) => `${host} did not let you in.`,
  failed: "The call could not continue.",
  again: "Join again",
  refused: {
    malformed: "This is not a complete call link. Check that you copied all of it.",
    tampered: "This link was changed or was not made by this server.",
    expired: "This link has expired. Ask for a new one.",
    revoked: "This link was turned off by its owner.",
    unknown: "This server knows no such link.",
  },
  refusedTitle: "This link cannot be used",
  referenceTitle: "Incoming Simu call",
  referenceText: "This invitation is for a Simu or Nexacon app. Open it in Simu, where you are signed in, to answer.",
  noGuests: "This server does not let guests join from the browser.",
  settings: "Devices",
};

type Strings = typeof en;

const sw: Strings = {
  ...en,
  title: "Simu: simu",
  checking: "Inakagua kiungo…",
  joinTitle: (host) => `Jiunge na simu ya ${host}`,
  roomTitle: (host) => `Omba kuingia chumba cha ${host}`,
  yourName: "Jina lako",
  camera: "Kamera",
  microphone: "Maikrofoni",
  micLevel: "Sauti ya maikrofoni",
  audioOnly: "Jiunge bila video",
  join: "Jiunge",
  askToJoin: "Omba kuingia",
  openInSimu: "Fungua katika Simu",
  ringing: (host) => `Inampigia ${host}…`,
  knocking: (host) => `Inasubiri ${host} akuruhusu…`,
  cancel: "Ghairi",
  away: (host) => `${host} hapatikani sasa hivi. Ataona kwamba ulipiga.`,
  connecting: "Inaunganisha…",
  reconnecting: "Muunganisho umekatika: inaunganisha tena…",
  mute: "Zima sauti",
  unmute: "Washa sauti",
  cameraOff: "Zima kamera",
  cameraOn: "Washa kamera",
  hangUp: "Kata simu",
  remoteCameraOff: "Kamera imezimwa",
  you: "Wewe",
  guest: "mgeni",
  members: (n: number) => `Watu ${n} kwenye simu`,
  ended: "Simu imekwisha",
  endedAfter: (d) => `Simu ilidumu ${d}.`,
  declined: (host) => `${host} amekataa simu.`,
  noAnswer: (host) => `${host} hakujibu.`,
  busy: (host) => `${host} yuko kwenye simu nyingine. Jaribu tena baadaye.`,
  denied: (host) => `${host} hakukuruhusu kuingia.`,
  failed: "Simu haikuweza kuendelea.",
  again: "Jiunge tena",
  refusedTitle: "Kiungo hiki hakiwezi kutumika",
};

export const lang = (typeof navigator !== "undefined" && navigator.language?.toLowerCase().startsWith("sw")) ? "sw" : "en";
export const t: Strings = lang === "sw" ? sw : en;

/** `m:ss` (or `h:mm:ss`) of a duration in seconds. */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const two = (n: number) => String(n).padStart(2, "0");
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}:${two(m)}:${two(s % 60)}` : `${m}:${two(s % 60)}`;
}
