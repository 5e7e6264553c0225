/**
 * SSH signatures as git makes them with `gpg.format=ssh` (OpenSSH's
 * PROTOCOL.sshsig): the data signed is `SSHSIG` + namespace + reserved +
 * hash algorithm + the hash of the message; the signature is an `SSHSIG` blob
 * (version 1, the public key, namespace, reserved, hash algorithm, the SSH
 * signature), base64 in lines of 70 between `-----BEGIN SSH SIGNATURE-----`
 * and `-----END SSH SIGNATURE-----`, as ssh-keygen -Y sign writes it. Only
 * Ed25519 keys, which node:crypto signs and checks natively; an SSH signature
 * by another kind of key is reported as one gitchat cannot check.
 */
import { createHash, createPublicKey, sign, verify, type KeyObject } from "node:crypto";
import { promisify } from "node:util";

const MAGIC = Buffer.from("SSHSIG");
const BEGIN = "-----BEGIN SSH SIGNATURE-----";
const END = "-----END SSH SIGNATURE-----";
const ED25519 = "ssh-ed25519";
/** git signs commits in this namespace (`ssh-keygen -Y sign -n git`). */
export const GIT_NAMESPACE = "git";
/** A DER SubjectPublicKeyInfo for Ed25519 is this prefix and the 32-byte key. */
const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

/** An SSH wire `string`: its length as a big-endian uint32, then its bytes. */
const sshString = (value: Uint8Array | string) => {
  const bytes = typeof value === "string" ? Buffer.from(value) : Buffer.from(value);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
};

/** Reads SSH wire strings one after another; throws on a length past the end. */
class WireReader {
  private offset = 0;
  constructor(private readonly bytes: Buffer) {}
  uint32() {
    if (this.offset + 4 > this.bytes.length) throw new Error("truncated");
    const value = this.bytes.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }
  string() {
    const length = this.uint32();
    if (this.offset + length > this.bytes.length) throw new Error("truncated");
    const value = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }
}

/** The SSH wire form of an Ed25519 public key (RFC 8709): `string "ssh-ed25519"`, `string key`. */
export const ed25519PublicBlob = (publicKey: KeyObject) => {
  const der = publicKey.export({ type: "spki", format: "der" });
  return Buffer.concat([sshString(ED25519), sshString(der.subarray(ED25519_SPKI_PREFIX.length))]);
};

/** A public key as OpenSSH writes it: `ssh-ed25519 AAAA...`. */
export const publicKeyLine = (blob: Uint8Array) => `${ED25519} ${Buffer.from(blob).toString("base64")}`;

/** OpenSSH's fingerprint of a public key: `SHA256:` and the unpadded base64 of the blob's SHA-256. */
export const fingerprintOf = (blob: Uint8Array) => `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;

/** The bytes an SSHSIG signature signs: the preamble, namespace, reserved, hash algorithm and the message's hash. */
const signedData = (namespace: string, hashAlgorithm: "sha256" | "sha512", message: Uint8Array) =>
  Buffer.concat([
    MAGIC,
    sshString(namespace),
    sshString(""),
    sshString(hashAlgorithm),
    sshString(createHash(hashAlgorithm).update(message).digest()),
  ]);

/** The armored SSH signature of `message` in the `git` namespace by `privateKey`, whose public blob is `publicBlob`. */
export const signSsh = (privateKey: KeyObject, publicBlob: Uint8Array, message: Uint8Array) => {
  const signature = sign(null, signedData(GIT_NAMESPACE, "sha512", message), privateKey);
  const version = Buffer.alloc(4);
  version.writeUInt32BE(1);
  const blob = Buffer.concat([
    MAGIC,
    version,
    sshString(publicBlob),
    sshString(GIT_NAMESPACE),
    sshString(""),
    sshString("sha512"),
    sshString(Buffer.concat([sshString(ED25519), sshString(signature)])),
  ]).toString("base64");
  const lines = [BEGIN];
  for (let i = 0; i < blob.length; i += 70) lines.push(blob.slice(i, i + 70));
  lines.push(END);
  return `${lines.join("\n")}\n`;
};

/** What checking a signature found: the key that made it (`SHA256:...` and its `ssh-ed25519 AAAA...`), or why it proves nothing. */
export type SignatureCheck = { ok: true; fingerprint: string; publicKey: string } | { ok: false; problem: string };

/**
 * Checks an armored SSH signature over `message` in the `git` namespace. It
 * says which key made a good one; whether that key is allowed is the
 * caller's question.
 */
export const verifySsh = (armored: string, message: Uint8Array): SignatureCheck => {
  const read = readSignature(armored, message);
  if ("problem" in read) return read;
  return verdict(read, verify(null, read.data, read.key, read.signature));
};

const verifyOffThread = promisify(verify) as (algorithm: null, data: Uint8Array, key: KeyObject, signature: Uint8Array) => Promise<boolean>;

/**
 * verifySsh, with the Ed25519 verify (about 60 us, nearly all of a check) on
 * the thread pool: checking a pull's commits overlaps with reading them.
 */
export const verifySshAsync = async (armored: string, message: Uint8Array): Promise<SignatureCheck> => {
  const read = readSignature(armored, message);
  if ("problem" in read) return read;
  return verdict(read, await verifyOffThread(null, read.data, read.key, read.signature));
};

type ReadSignature = { key: KeyObject; data: Uint8Array; signature: Uint8Array; publicBlob: Uint8Array };

const verdict = (read: ReadSignature, good: boolean): SignatureCheck => {
  const fingerprint = fingerprintOf(read.publicBlob);
  if (!good) return { ok: false, problem: `its signature by ${fingerprint} does not match its content (changed after it was signed)` };
  return { ok: true, fingerprint, publicKey: publicKeyLine(read.publicBlob) };
};

/** An armored SSH signature read and checked for its form: what to verify, or why it cannot be. */
const readSignature = (armored: string, message: Uint8Array): ReadSignature | { ok: false; problem: string } => {
  const text = armored.trim();
  if (!text.startsWith(BEGIN) || !text.endsWith(END)) return { ok: false, problem: "signed, but not with an SSH signature (PGP or X.509?)" };
  try {
    const blob = Buffer.from(text.slice(BEGIN.length, -END.length).replace(/\s+/g, ""), "base64");
    if (!blob.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error("no SSHSIG preamble");
    const wire = new WireReader(blob.subarray(MAGIC.length));
    if (wire.uint32() !== 1) throw new Error("an SSHSIG version other than 1");
    const publicBlob = wire.string();
    const namespace = wire.string().toString();
    wire.string(); // reserved: ignored, as the format says
    const hashAlgorithm = wire.string().toString();
    const signature = new WireReader(wire.string());
    const key = new WireReader(publicBlob);
    const keyType = key.string().toString();
    if (keyType !== ED25519) return { ok: false, problem: `signed by a ${keyType} key (${fingerprintOf(publicBlob)}), which gitchat cannot check` };
    if (namespace !== GIT_NAMESPACE) return { ok: false, problem: `signed in the namespace ${JSON.stringify(namespace)}, not "git"` };
    if (hashAlgorithm !== "sha512" && hashAlgorithm !== "sha256") throw new Error(`an unknown hash ${hashAlgorithm}`);
    const raw = key.string();
    if (signature.string().toString() !== ED25519 || raw.length !== 32) throw new Error("a malformed Ed25519 key or signature");
    const publicKey = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: "der", type: "spki" });
    return { key: publicKey, data: signedData(namespace, hashAlgorithm, message), signature: signature.string(), publicBlob };
  } catch (error) {
    return { ok: false, problem: `its SSH signature cannot be read (${(error as Error).message})` };
  }
};

/**
 * The public keys (`ssh-ed25519 AAAA...`) of an allowed-signers file (see
 * ssh-keygen(1), ALLOWED SIGNERS): each line is principals, options, key
 * type and key; blank lines and `#` comments are skipped.
 */
export const allowedKeys = (text: string) => {
  const keys: string[] = [];
  for (const line of text.split("\n")) {
    const match = /(?:^|\s)(ssh-ed25519|ssh-rsa|ecdsa-sha2-\S+|sk-\S+)\s+([A-Za-z0-9+/]+=*)(?:\s|$)/.exec(line.trim());
    if (match && !line.trim().startsWith("#")) keys.push(`${match[1]} ${match[2]}`);
  }
  return keys;
};

/** One allowed-signers line: `principal namespaces="git" ssh-ed25519 AAAA...`. */
export const allowedSignerLine = (principal: string, blob: Uint8Array) => `${principal} namespaces="${GIT_NAMESPACE}" ${publicKeyLine(blob)}\n`;
