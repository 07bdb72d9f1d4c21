import { mount } from "svelte";
import App from "./App.svelte";
import "./app.css";
import { applyTheme, savedTheme } from "./lib/theme";
import { lang } from "./lib/i18n";

applyTheme(savedTheme());
document.documentElement.lang = lang;

// A desktop app has no browser menu (Back, Reload, Inspect); text fields keep theirs (copy, paste).
if (!import.meta.env.DEV) {
  document.addEventListener("contextmenu", (e) => {
    const t = e.target;
    const editable = t instanceof HTMLElement && (t.isContentEditable || t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement);
    if (!editable) e.preventDefault();
  });
}

mount(App, { target: document.getElementById("app")! });
