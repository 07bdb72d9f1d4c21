// Which screen the app shows: the call state decides it while a call is under way.

import type { CallState } from "./bindings";

export type Screen = "signin" | "dialer" | "outgoing" | "incoming" | "incall" | "history" | "settings";

/** The screen a call state shows (`dialer` once no call is under way). */
export function screenFor(state: CallState): "outgoing" | "incoming" | "incall" | "dialer" {
  switch (state) {
    case "calling": return "outgoing";
    case "incoming": return "incoming";
    case "connected": return "incall";
    case "idle": case "ended": return "dialer";
  }
}
