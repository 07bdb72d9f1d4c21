// Call outcomes and call types in the user's words (history, recent calls, call-end notices).

import { t } from "./i18n";

const outcomes: Record<string, string> = { ended: t.ended, missed: t.missed, declined: t.declined, cancelled: t.cancelled, failed: t.failed, busy: t.busy };
/** A call not finished yet, or whose end the server has not heard of yet. */
const underway: Record<string, string> = { initiated: t.inProgress, calling: t.inProgress, answered: t.inProgress };
const types: Record<string, string> = { audio: t.audioCall, video: t.videoCall, p2p: t.call, group: t.groupCall };

/** The outcome names history filters offer, in order. */
export const outcomeKeys = Object.keys(outcomes);
/** The call types history filters offer, in order. */
export const typeKeys = Object.keys(types);

export function outcomeLabel(status: string): string {
  return outcomes[status] ?? underway[status] ?? status;
}

export function typeLabel(callType: string): string {
  return types[callType] ?? callType;
}
