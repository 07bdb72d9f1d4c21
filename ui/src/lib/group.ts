// Group calls on screen: how tiles are laid out and who is speaking.

/** Columns and rows for `n` tiles: one, two side by side, 2x2, 3x2, 3x3 and so on. */
export function grid(n: number): { cols: number; rows: number } {
  if (n <= 1) return { cols: 1, rows: 1 };
  if (n === 2) return { cols: 2, rows: 1 };
  const cols = Math.ceil(Math.sqrt(n));
  return { cols, rows: Math.ceil(n / cols) };
}

/** Louder than this (dBFS) counts as speaking; the synthetic tone is about -20, a room's
 * background noise below -50. */
export const SPEAKING_DBFS = -45;
/** A speaker keeps the highlight this long after going quiet, so it does not flicker between
 * words. */
export const HOLD_MS = 1200;

export interface Level { nx_id: string; level_dbfs: number }

/** Follows who speaks: the loudest member above `SPEAKING_DBFS`; the current speaker keeps it
 * through short pauses, and hands it over only to someone louder. */
export class SpeakerTracker {
  private current: string | null = null;
  private heardAt = 0;

  update(levels: Level[], now: number): string | null {
    const level = new Map(levels.map((l) => [l.nx_id, l.level_dbfs]));
    if (this.current !== null && !level.has(this.current)) this.current = null;
    const mine = this.current === null ? -Infinity : (level.get(this.current) ?? -Infinity);
    if (mine > SPEAKING_DBFS) this.heardAt = now;
    const top = levels.filter((l) => l.level_dbfs > SPEAKING_DBFS).sort((a, b) => b.level_dbfs - a.level_dbfs)[0];
    const quiet = now - this.heardAt >= HOLD_MS;
    if (top && top.nx_id !== this.current) {
      // Someone else: they take over from nobody, from a speaker quiet for longer than the
      // hold, or by being clearly (6 dB) louder than one still speaking.
      const louder = mine > SPEAKING_DBFS && top.level_dbfs > mine + 6;
      if (this.current === null || quiet || louder) {
        this.current = top.nx_id;
        this.heardAt = now;
      }
    } else if (!top && quiet) {
      this.current = null;
    }
    return this.current;
  }
}
