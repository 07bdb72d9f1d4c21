// The web call page (simu-server serves it at /call; its assets under /call-assets/): a second
// entry beside the desktop UI, built into dist-call/, which the server embeds.
import { defineConfig } from "vite";
import { svelte } from "@sveltejs/vite-plugin-svelte";

export default defineConfig({
  plugins: [svelte()],
  clearScreen: false,
  base: "/call-assets/",
  build: {
    target: "es2021",
    outDir: "dist-call",
    emptyOutDir: true,
    assetsDir: "",
    rollupOptions: { input: "call.html" },
  },
});
