// The call page's two requests to simu-server (docs/protocol.md §2.2): what a link is, and a
// guest pass to join it. The link's signature is the only credential.

export type Refusal = "malformed" | "tampered" | "expired" | "revoked" | "unknown";

export interface LinkInfo {
  kind: "call" | "room";
  type: string;
  host: string;
  host_name: string;
  expires_at: number;
  guests: boolean;
}

export interface Pass {
  host_online: true;
  jid: string;
  token: string;
  nxws: string;
  room: string;
  type: "audio" | "video";
  kind: "call" | "room";
  host: string;
  host_name: string;
  name: string;
  ice_servers: RTCIceServer[];
}

export interface HostAway {
  host_online: false;
  host_name: string;
}

/** A refused link (`reason`) or another failure (`reason` undefined), with the server's words. */
export class LinkFailure extends Error {
  constructor(
    message: string,
    readonly reason?: Refusal,
  ) {
    super(message);
  }
}

const API = "/api/v1.0/simu/link";

async function post<T>(path: string, body: unknown): Promise<T> {
  let r: Response;
  try {
    r = await fetch(`${API}/${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  } catch {
    throw new LinkFailure("The server cannot be reached.");
  }
  const v = await r.json().catch(() => ({}));
  if (!r.ok) throw new LinkFailure(typeof v.detail === "string" ? v.detail : `The server answered ${r.status}.`, v.reason);
  return v as T;
}

export const openLink = (link: string) => post<LinkInfo>("open", { link });
export const joinLink = (link: string, name: string) => post<Pass | HostAway>("join", { link, name });
