// The browser peer's page (tests/interop) served inside a fault-test network namespace: run as
// `ip netns exec NS node site.mjs SERVER HOST`; prints the origin, then serves until killed.
import { startSite } from "../interop/common.mjs";

const [server, host] = process.argv.slice(2);
const site = await startSite(server, host);
console.log(site.origin);
process.on("SIGTERM", () => { site.close(); process.exit(0); });
