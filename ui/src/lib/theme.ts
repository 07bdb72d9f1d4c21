// Light, dark or the system's choice: a per-computer look, kept in the web view's storage.

export type Theme = "system" | "light" | "dark";

const KEY = "simu.theme";

export function savedTheme(): Theme {
  const v = typeof localStorage === "undefined" ? null : localStorage.getItem(KEY);
  return v === "light" || v === "dark" ? v : "system";
}

/** Shows `theme` now and remembers it ("system" follows the desktop's setting). */
export function applyTheme(theme: Theme) {
  const root = document.documentElement;
  if (theme === "system") delete root.dataset.theme; else root.dataset.theme = theme;
  localStorage.setItem(KEY, theme);
}
