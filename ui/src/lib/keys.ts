// Keyboard shortcuts, as Meet and Teams have them: Enter answers a ringing call, M / Ctrl+D
// mute, V / Ctrl+E turn the camera, Ctrl+Shift+H hangs up, Esc closes what is open (the
// statistics panel, History, Settings) and never ends a call. Nothing fires while typing.

import type { Screen } from "./screens";

export type KeyAction = "accept" | "hangup" | "mute" | "video" | "close" | "back" | null;

/** What a key press means on `screen`; `typing` is true in a text field or a menu. */
export function keyAction(screen: Screen, key: string, typing: boolean, mods: { ctrl?: boolean; shift?: boolean } = {}): KeyAction {
  if (typing) return null;
  const lower = key.toLowerCase();
  if (screen === "incoming" && key === "Enter") return "accept";
  if (screen === "incall" || screen === "outgoing") {
    if (mods.ctrl && mods.shift && lower === "h") return "hangup";
  }
  if (screen === "incall") {
    if (key === "Escape") return "close";
    if (mods.ctrl && !mods.shift && lower === "d") return "mute";
    if (mods.ctrl && !mods.shift && lower === "e") return "video";
    if (!mods.ctrl && lower === "m") return "mute";
    if (!mods.ctrl && lower === "v") return "video";
  }
  if ((screen === "history" || screen === "settings") && key === "Escape") return "back";
  return null;
}

/** Whether a key press lands in something the user types into or picks from. */
export function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName);
}
