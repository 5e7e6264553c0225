/**
 * Git's smart HTTP protocol (v0/v1), client side: the ref advertisement, a
 * push (receive-pack) and a fetch (upload-pack). The packs themselves are
 * made and read by packfile.ts. The token goes only into the Authorization
 * header of each request: never into a URL, a config file or an error.
 */
import { PushRejectedError, RemoteAuthError, RemoteNotFoundError, RemoteUnavailableError, StoreIntegrityError } from "../errors.ts";

const ZERO = "0".repeat(40);
const AGENT = "agent=gitchat/1";
const encoder = new TextEncoder();

export const pktLine = (text: string | Uint8Array) => {
  const payload = typeof text === "string" ? encoder.encode(text) : text;
  const out = new Uint8Array(payload.length + 4);
  out.set(encoder.encode((payload.length + 4).toString(16).padStart(4, "0")), 0);
  out.set(payload, 4);
  return out;
};
const FLUSH = encoder.encode("0000");

/** Splits pkt-lines from the start of `data`; stops at the end or at `stopAfter` lines. Returns where it stopped. */
export const readPktLines = (data: Uint8Array, from = 0, until?: (line: string | null) => boolean) => {
  const lines: (string | null)[] = [];
  let at = from;
  const decoder = new TextDecoder();
  while (at + 4 <= data.length) {
    const length = parseInt(decoder.decode(data.subarray(at, at + 4)), 16);
    if (Number.isNaN(length)) throw new StoreIntegrityError("the remote sent a malformed pkt-line");
    if (length === 0) {
      lines.push(null);
      at += 4;
    } else {
      if (length < 4 || at + length > data.length) throw new StoreIntegrityError("the remote sent a truncated pkt-line");
      lines.push(decoder.decode(data.subarray(at + 4, at + length)));
      at += length;
    }
    if (until?.(lines[lines.length - 1]!)) break;
  }
  return { lines, end: at };
};

export type Advertisement = { refs: Map<string, string>; capabilities: Set<string> };

export type RemoteOptions = {
  token?: string;
  /** A name for messages: "owner/name". */
  label: string;
  timeoutMs?: number;
};

export class SmartHttpRemote {
  constructor(readonly url: string, private readonly options: RemoteOptions) {}

  private get timeoutMs() {
    return this.options.timeoutMs ?? 120_000;
  }

  /** The repository's name for messages: "owner/name". */
  get label() {
    return this.options.label;
  }

  private headers(extra: Record<string, string> = {}) {
    const headers: Record<string, string> = { "user-agent": "gitchat/1", ...extra };
    if (this.options.token) headers.authorization = `Basic ${btoa(`x-access-token:${this.options.token}`)}`;
    return headers;
  }

  private async request(path: string, init: { method: string; body?: Uint8Array; headers?: Record<string, string> }) {
    const response = await this.open(path, init);
    try {
      return new Uint8Array(await response.arrayBuffer());
    } catch {
      throw new RemoteUnavailableError(`the connection to the git remote of ${this.options.label} broke during its answer; will retry`);
    }
  }

  /**
   * A successful response, its body not read yet; any other status becomes
   * the error it stands for. The request is abandoned after the timeout, or
   * when `signal` aborts (with a TimeoutError: the remote went silent).
   */
  private async open(path: string, init: { method: string; body?: Uint8Array; headers?: Record<string, string>; signal?: AbortSignal }) {
    let response: Response;
    try {
      response = await fetch(`${this.url}${path}`, {
        method: init.method,
        headers: this.headers(init.headers),
        body: init.body as BodyInit | undefined,
        signal: init.signal ?? AbortSignal.timeout(this.timeoutMs),
        redirect: "follow",
      });
    } catch (error) {
      const reason = (error as Error).name === "TimeoutError" ? "timed out" : "could not be reached";
      throw new RemoteUnavailableError(`the git remote of ${this.options.label} ${reason}; will retry`);
    }
    if (response.ok) return response;
    await response.body?.cancel();
    const label = this.options.label;
    switch (response.status) {
      case 401:
        throw new RemoteAuthError(`the git remote refused the token for ${label}: check GITHUB_TOKEN`);
      case 403:
        throw new RemoteAuthError(`the token may not ${init.method === "POST" && path.includes("receive") ? "push to" : "read"} ${label}`);
      case 404:
        throw new RemoteNotFoundError(`the git remote has no repository ${label}`);
      case 429: {
        const retry = Number(response.headers.get("retry-after"));
        throw new RemoteUnavailableError(`the git remote of ${label} is rate limiting; will retry`, Number.isFinite(retry) ? retry * 1000 : undefined);
      }
      default:
        throw new RemoteUnavailableError(`the git remote of ${label} answered ${response.status}; will retry`);
    }
  }

  async advertisement(service: "git-upload-pack" | "git-receive-pack"): Promise<Advertisement> {
    const body = await this.request(`/info/refs?service=${service}`, { method: "GET" });
    const { lines } = readPktLines(body);
    if (lines[0] !== `# service=${service}\n`) {
      throw new RemoteUnavailableError(`the remote of ${this.options.label} does not speak git's smart HTTP protocol`);
    }
    const refs = new Map<string, string>();
    let capabilities = new Set<string>();
    for (const line of lines.slice(1)) {
      if (line === null) continue;
      const [refPart, caps] = line.replace(/\n$/, "").split("\0");
      if (caps !== undefined) capabilities = new Set(caps.split(" ").filter(Boolean));
      const [oid, name] = refPart!.split(" ");
      if (oid && name && oid !== ZERO && name !== "capabilities^{}") refs.set(name, oid);
    }
    return { refs, capabilities };
  }

  /** Moves `ref` on the remote from `oldOid` (undefined: create) to `newOid`, sending `pack`. */
  async push(ref: string, oldOid: string | undefined, newOid: string, pack: Uint8Array) {
    const command = pktLine(`${oldOid ?? ZERO} ${newOid} ${ref}\0report-status ${AGENT}\n`);
    const body = Buffer.concat([command, FLUSH, pack]);
    const answer = await this.request("/git-receive-pack", {
      method: "POST",
      body,
      headers: { "content-type": "application/x-git-receive-pack-request", accept: "application/x-git-receive-pack-result" },
    });
    const lines = readPktLines(answer).lines.filter((l): l is string => l !== null).map((l) => l.replace(/\n$/, ""));
    const unpack = lines.find((l) => l.startsWith("unpack "));
    if (unpack !== "unpack ok") throw new RemoteUnavailableError(`the remote could not store the pushed objects (${unpack ?? "no status"})`);
    const status = lines.find((l) => l.endsWith(` ${ref}`) || l.includes(` ${ref} `));
    if (status?.startsWith("ok ")) return;
    const reason = status?.slice(`ng ${ref} `.length) ?? "no status";
    if (/non-fast-forward|fetch first|stale|failed to update ref|cannot lock/.test(reason)) {
      throw new PushRejectedError(`the remote's ${ref} moved on (${reason})`);
    }
    throw new RemoteUnavailableError(`the remote refused the push to ${this.options.label}: ${reason}`);
  }

  /**
   * Asks for a pack holding `wants` and what they reach beyond `haves`, and
   * hands its bytes to `sink` as they arrive (never holding the pack whole).
   * With `side-band-64k` (when the remote offers it) the pack comes in
   * numbered packets beside the remote's own error messages, and a flush
   * marks its end, so an answer cut short is told from a whole one here.
   * Returns false when there is nothing to fetch.
   */
  async fetchPack(wants: string[], haves: string[], sink: (bytes: Uint8Array) => void, capabilities: ReadonlySet<string> = new Set()) {
    if (wants.length === 0) return false;
    const sideBand = capabilities.has("side-band-64k");
    const parts: Uint8Array[] = [];
    const asked = `ofs-delta${sideBand ? " side-band-64k" : ""}${capabilities.has("no-progress") ? " no-progress" : ""} ${AGENT}`;
    wants.forEach((oid, i) => parts.push(pktLine(i === 0 ? `want ${oid} ${asked}\n` : `want ${oid}\n`)));
    parts.push(FLUSH);
    for (const oid of haves) parts.push(pktLine(`have ${oid}\n`));
    parts.push(pktLine("done\n"));
    // The timeout counts silence, not the whole answer: a big pack over a slow link may take longer than it.
    const silence = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const rearm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => silence.abort(new DOMException("the remote went silent", "TimeoutError")), this.timeoutMs);
    };
    rearm();
    try {
      const response = await this.open("/git-upload-pack", {
        method: "POST",
        body: Buffer.concat(parts),
        headers: { "content-type": "application/x-git-upload-pack-request", accept: "application/x-git-upload-pack-result" },
        signal: silence.signal,
      });
      const demux = new UploadPackDemux(sideBand, sink, this.options.label);
      if (!response.body) return demux.end();
      const reader = response.body.getReader();
      try {
        for (;;) {
          let chunk: Awaited<ReturnType<typeof reader.read>>;
          try {
            chunk = await reader.read();
          } catch {
            const label = this.options.label;
            throw new RemoteUnavailableError(
              silence.signal.aborted
                ? `the git remote of ${label} sent nothing for ${this.timeoutMs / 1000} s in the middle of the pack; will retry`
                : `the connection to the git remote of ${label} broke while it sent the pack; will retry`,
            );
          }
          if (chunk.done) break;
          rearm();
          demux.push(chunk.value);
        }
      } finally {
        reader.releaseLock();
        await response.body.cancel().catch(() => {});
      }
      return demux.end();
    } finally {
      clearTimeout(timer);
    }
  }
}

const decoder = new TextDecoder();

/**
 * Splits upload-pack's answer as it streams in: acknowledgements (NAK /
 * ACK <oid>) in pkt-lines, then the pack, either raw to the end or in
 * side-band packets (1: pack data, 2: progress, 3: an error) ended by a flush.
 */
class UploadPackDemux {
  /** Bytes of a pkt-line not complete yet (at most one packet, 64 KB). */
  private pending = Buffer.alloc(0);
  private state: "acks" | "bands" | "raw" | "done" = "acks";
  private packBytes = 0;

  constructor(
    private readonly sideBand: boolean,
    private readonly sink: (bytes: Uint8Array) => void,
    private readonly label: string,
  ) {}

  push(chunk: Uint8Array) {
    if (this.raw) {
      this.deliver(chunk);
      return;
    }
    let data = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let at = 0;
    while (this.state !== "raw" && this.state !== "done" && at + 4 <= data.length) {
      if (this.state === "acks" && data.toString("latin1", at, at + 4) === "PACK") {
        this.state = "raw";
        break;
      }
      const length = parseInt(data.toString("latin1", at, at + 4), 16);
      if (!/^[0-9a-f]{4}$/i.test(data.toString("latin1", at, at + 4)) || (length > 0 && length < 4)) {
        throw new RemoteUnavailableError(`the git remote of ${this.label} sent a malformed answer to a fetch`);
      }
      if (length === 0) {
        at += 4;
        if (this.state === "bands") this.state = "done";
        continue;
      }
      if (at + length > data.length) break;
      const payload = data.subarray(at + 4, at + length);
      at += length;
      const band = payload[0]!;
      if (this.state === "acks" && this.sideBand && band >= 1 && band <= 3) this.state = "bands";
      if (this.state === "acks") {
        const line = decoder.decode(payload);
        if (line.startsWith("ERR ")) throw new RemoteUnavailableError(`the remote refused the fetch: ${line.slice(4).trim()}`);
        continue;
      }
      if (band === 1) this.deliver(payload.subarray(1));
      else if (band === 3) throw new RemoteUnavailableError(`the remote failed while sending the pack: ${decoder.decode(payload.subarray(1)).trim()}`);
      else if (band !== 2) throw new RemoteUnavailableError(`the git remote of ${this.label} sent a malformed answer to a fetch`);
    }
    data = data.subarray(at);
    if (this.raw) {
      this.pending = Buffer.alloc(0);
      if (data.length > 0) this.deliver(data);
    } else {
      // Copied: `chunk` is the stream's buffer, which may be reused.
      this.pending = Buffer.from(data);
    }
  }

  /** Whether the rest of the answer is the pack itself (no side-band). */
  private get raw() {
    return this.state === "raw";
  }

  private deliver(bytes: Uint8Array) {
    this.packBytes += bytes.length;
    this.sink(bytes);
  }

  /** Whether a pack came; throws when the answer stopped before its end. */
  end() {
    if (this.state === "bands") {
      throw new RemoteUnavailableError(`the answer of the git remote of ${this.label} ended before the pack was complete; will retry`);
    }
    if (this.packBytes === 0) throw new RemoteUnavailableError(`the remote of ${this.label} sent no pack`);
    return true;
  }
}
