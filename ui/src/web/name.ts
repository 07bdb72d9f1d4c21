// The name a guest typed last time, kept in this browser only; storage may be off (private
// windows, blocked site data), and then nothing is kept.

const KEY = "simu.guestName";

export function remembered(): string {
  try {
    return localStorage.getItem(KEY) ?? "";
  } catch {
    return "";
  }
}

export function remember(name: string): void {
  try {
    localStorage.setItem(KEY, name);
  } catch {
    // Not kept: the guest types it again next time.
  }
}
