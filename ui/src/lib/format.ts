// Pure helpers the screens share: durations, bitrates, and a network-quality grade.

export function duration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  const mm = h > 0 ? String(m).padStart(2, "0") : String(m);
  return (h > 0 ? `${h}:` : "") + `${mm}:${String(r).padStart(2, "0")}`;
}

export function bitrate(bps: number): string {
  if (bps >= 1_000_000) return `${(bps / 1_000_000).toFixed(2)} Mbit/s`;
  if (bps >= 1000) return `${Math.round(bps / 1000)} kbit/s`;
  return `${bps} bit/s`;
}

export type Grade = "good" | "fair" | "poor" | "unknown";

/** Loss fraction between two samples (0..1), from cumulative counters. */
export function lossFraction(prevLost: number, prevRecv: number, lost: number, recv: number): number {
  const dl = Math.max(0, lost - prevLost);
  const dr = Math.max(0, recv - prevRecv);
  return dl + dr === 0 ? 0 : dl / (dl + dr);
}

/** Network quality from loss, round-trip time and jitter, as the in-call indicator shows it. */
export function grade(loss: number | null, rttMs: number | null, jitterMs: number | null): Grade {
  if (loss === null && rttMs === null) return "unknown";
  const l = loss ?? 0;
  const r = rttMs ?? 0;
  const j = jitterMs ?? 0;
  if (l > 0.08 || r > 400 || j > 80) return "poor";
  if (l > 0.02 || r > 150 || j > 30) return "fair";
  return "good";
}

/** Per-sample loss rate (0..1) of a series of cumulative lost/received counters. */
export function lossRates(lost: number[], received: number[]): number[] {
  return lost.map((l, i) => (i === 0 ? 0 : lossFraction(lost[i - 1], received[i - 1], l, received[i])));
}

/** A measured value with its unit, or "–" while it is not measured. */
export function measured(v: number | null | undefined, unit: string, digits = 0): string {
  return v === null || v === undefined || !Number.isFinite(v) ? "–" : `${v.toFixed(digits)} ${unit}`;
}

/** The local calendar day of `d` as a key ("2026-12-06"). */
function dayKey(d: Date): string {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

/** "today", "yesterday", or the date in the locale's words, for a history heading. */
export function dayLabel(d: Date, now: Date, words: { today: string; yesterday: string }, locale?: string): string {
  const yesterday = new Date(now);
  yesterday.setDate(now.getDate() - 1);
  if (dayKey(d) === dayKey(now)) return words.today;
  if (dayKey(d) === dayKey(yesterday)) return words.yesterday;
  const sameYear = d.getFullYear() === now.getFullYear();
  return d.toLocaleDateString(locale, { weekday: "long", day: "numeric", month: "long", ...(sameYear ? {} : { year: "numeric" }) });
}

/** Items grouped by local day, in their order, each group with its heading. */
export function byDay<T>(items: T[], when: (t: T) => Date, now: Date, words: { today: string; yesterday: string }, locale?: string): { label: string; items: T[] }[] {
  const groups: { key: string; label: string; items: T[] }[] = [];
  for (const it of items) {
    const d = when(it);
    const key = dayKey(d);
    const last = groups.at(-1);
    if (last && last.key === key) last.items.push(it);
    else groups.push({ key, label: dayLabel(d, now, words, locale), items: [it] });
  }
  return groups.map(({ label, items }) => ({ label, items }));
}

/** An NX ID as people read it: the user part alone when it is on your own server. */
export function shortAddress(nxid: string, myDomain: string | undefined): string {
  const at = nxid.lastIndexOf("@");
  return at > 0 && myDomain && nxid.slice(at + 1) === myDomain ? nxid.slice(0, at) : nxid;
}
