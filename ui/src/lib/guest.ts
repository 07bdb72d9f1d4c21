// Guests let in by a call link (docs/protocol.md §2.2): the server gives them `guest-…`
// addresses, which no account can have (usernames lose their hyphens), so the address says it.

import { t } from "./i18n";

export function isGuest(nxid: string): boolean {
  return nxid.toLowerCase().startsWith("guest-");
}

/** "Jane (guest, via link)": the name a guest typed, marked as a guest's. */
export function guestName(typed: string): string {
  return `${typed.trim() || t.guest} (${t.guestViaLink})`;
}
