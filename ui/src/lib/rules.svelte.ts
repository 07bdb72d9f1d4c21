// Do not disturb and blocked numbers: shown in the sidebar, the contact pane and Settings,
// kept by the shell (which applies them to incoming calls).

import { api, errorText, type CallRules } from "./api";

class Rules {
  value = $state<CallRules>({ do_not_disturb: false, blocked: [] });
  error = $state("");

  async load() {
    try { this.value = await api.callRules(); } catch { /* not signed in yet: defaults */ }
  }

  private async set(next: CallRules): Promise<boolean> {
    this.error = "";
    try {
      this.value = await api.setCallRules(next);
      return true;
    } catch (e) {
      this.error = errorText(e);
      return false;
    }
  }

  isBlocked(nxid: string): boolean {
    return this.value.blocked.includes(nxid);
  }

  block(address: string) {
    return this.set({ ...this.value, blocked: [...this.value.blocked, address] });
  }

  unblock(nxid: string) {
    return this.set({ ...this.value, blocked: this.value.blocked.filter((b) => b !== nxid) });
  }

  setDoNotDisturb(on: boolean) {
    return this.set({ ...this.value, do_not_disturb: on });
  }
}

export const rules = new Rules();
