import { mount } from "svelte";
import WebCall from "./WebCall.svelte";
import "../app.css";
import { lang, t } from "./strings";

document.documentElement.lang = lang;
document.title = t.title;
mount(WebCall, { target: document.getElementById("app")! });
