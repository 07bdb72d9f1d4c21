// The contact list every screen shares: one copy, refreshed while the app is open so
// presence (online / offline) and names stay current without changing screens.

import { api, errorText, type Contact } from "./api";
import { guestName } from "./guest";

/** How often the list (and with it presence) is fetched while the window is open. */
export const REFRESH_MS = 15_000;

export const isEcho = (c: Contact) => c.nxid.startsWith("echo@");

class ContactBook {
  list = $state<Contact[]>([]);
  error = $state("");
  /** Guests' names as they knocked ("Jane (guest, via link)"), for the call they join. */
  guests = $state<Record<string, string>>({});
  /** Saved names by NX ID, and the guests'. */
  names = $derived({ ...Object.fromEntries(this.list.map((c) => [c.nxid, c.name])), ...this.guests } as Record<string, string>);

  /** Remembers the name a guest typed, so its tile and notices show it. */
  nameGuest(nxid: string, typed: string) {
    this.guests = { ...this.guests, [nxid]: guestName(typed) };
  }

  async refresh() {
    try {
      this.list = (await api.contacts()).contacts;
    } catch {
      // Offline for a moment: keep what is shown; the next refresh tries again.
    }
  }

  private async change(f: () => Promise<{ contacts: Contact[] }>): Promise<boolean> {
    this.error = "";
    try {
      this.list = (await f()).contacts;
      return true;
    } catch (e) {
      this.error = errorText(e);
      return false;
    }
  }

  /** Saves a number or NX ID under `name`, or renames a saved contact. */
  save(nxid: string, name: string) {
    return this.change(() => api.saveContact(nxid, name));
  }

  remove(nxid: string) {
    return this.change(() => api.removeContact(nxid));
  }

  find(nxid: string): Contact | undefined {
    return this.list.find((c) => c.nxid === nxid);
  }

  /** Keeps the list fresh: now, every REFRESH_MS while visible, and when the window comes back. */
  watch(): () => void {
    this.refresh();
    const timer = setInterval(() => { if (!document.hidden) this.refresh(); }, REFRESH_MS);
    const back = () => { if (!document.hidden) this.refresh(); };
    document.addEventListener("visibilitychange", back);
    window.addEventListener("focus", back);
    return () => {
      clearInterval(timer);
      document.removeEventListener("visibilitychange", back);
      window.removeEventListener("focus", back);
    };
  }
}

export const contacts = new ContactBook();
