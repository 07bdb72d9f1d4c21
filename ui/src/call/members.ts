// A group call's members as the in-call screen shows them.

import type { Membership } from "../lib/bindings";

export interface Member { membership: Membership; audio: boolean; video: boolean }

/** What the Statistics panel shows of each member in a group call. */
export interface MemberStat { nxid: string; fps: number; levelDbfs: number }

/** One tile: a member with media (its picture's frame kind) or still ringing (no picture). */
export interface Tile { nxid: string; kind: number | null; membership: Membership; audio: boolean; video: boolean }

/** The tiles to show: everyone with media (as the frame server lists them), then those still
 * ringing; members who left, declined or did not answer have none. */
export function tilesOf(kinds: [number, string][], members: Record<string, Member>): Tile[] {
  const withMedia: Tile[] = kinds.map(([kind, nxid]) => {
    const m = members[nxid] as Member | undefined;
    return { nxid, kind, membership: m?.membership ?? "joined", audio: m?.audio ?? true, video: m?.video ?? true };
  });
  const ringing: Tile[] = Object.entries(members)
    .filter(([nxid, m]) => (m.membership === "ringing" || m.membership === "invited") && !kinds.some(([, id]) => id === nxid))
    .map(([nxid, m]) => ({ nxid, kind: null, ...m }));
  return [...withMedia, ...ringing];
}
