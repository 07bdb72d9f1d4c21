// What the page's address says: a signed Simu link (`/call?...&sig=`), or a reference flow's
// unsigned invitation (`/nexacon-call.html?room=&caller=&type=`), which never admits a guest.

/** The query string the server verifies, without its `?`. */
export function linkQuery(loc: Pick<Location, "search">): string {
  return loc.search.replace(/^\?/, "");
}

export function isReferenceLink(loc: Pick<Location, "pathname">): boolean {
  return loc.pathname.endsWith("/nexacon-call.html");
}

/** The `simu:` address that hands `url` to the desktop app. */
export function deepLink(url: string): string {
  return `simu://join?link=${encodeURIComponent(url)}`;
}
