// Keyboard shortcuts: Enter accepts, Esc declines or hangs up, M mutes, V toggles video.

import type { Screen } from "./screens";
export type KeyAction = "accept" | "decline" | "hangup" | "cancel" | "mute" | "video" | null;

export function keyAction(screen: Screen, key: string, typing: boolean): KeyAction {
  if (screen === "incoming") {
    if (key === "Enter") return "accept";
    if (key === "Escape") return "decline";
  }
  if (screen === "outgoing" && key === "Escape") return "cancel";
  if (screen === "incall") {
    if (key === "Escape") return "hangup";
    if (typing) return null;
    if (key === "m" || key === "M") return "mute";
    if (key === "v" || key === "V") return "video";
  }
  return null;
}
