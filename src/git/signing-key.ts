/**
 * The server's own Ed25519 key, which signs every commit gitchat writes. It
 * is made at the first start, as `signing-key.pem` (PKCS #8) in the data
 * directory, mode 0600, written durably (a temporary file, fsynced, renamed,
 * the directory fsynced), and read at every start after. A key file that
 * cannot be read is never replaced: a new key would be a new identity, and
 * every commit signed before would look signed by a stranger. The private
 * half stays in a private field: it is in no log, error, response or config.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { existsSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { basename, join } from "node:path";
import { SigningKeyError } from "../errors.ts";
import type { CommitSigner } from "./commit-builder.ts";
import { syncPath, writeNewFile } from "./durable.ts";
import { allowedSignerLine, ed25519PublicBlob, fingerprintOf, publicKeyLine, signSsh } from "./sshsig.ts";

export const signingKeyPath = (dataDir: string) => join(dataDir, "signing-key.pem");

/** Where each server's public key lives in a channel's tree: one allowed-signers file per key. */
export const SIGNERS_DIR = [".gitchat", "signers"] as const;

/**
 * A signer file's name: the key's SHA-256 fingerprint in URL-safe base64
 * (`/` cannot be in a file name), without the `SHA256:` prefix.
 */
export const signerFileName = (fingerprint: string) => fingerprint.replace(/^SHA256:/, "").replace(/\//g, "_").replace(/\+/g, "-");

export class SigningKey {
  readonly #privateKey: KeyObject;
  /** The public key in SSH wire form. */
  readonly publicBlob: Uint8Array;
  /** `ssh-ed25519 AAAA...`, as in an authorized_keys or allowed-signers file. */
  readonly publicKey: string;
  /** `SHA256:...`, as `ssh-keygen -l` prints it. */
  readonly fingerprint: string;

  private constructor(privateKey: KeyObject) {
    this.#privateKey = privateKey;
    this.publicBlob = ed25519PublicBlob(createPublicKey(privateKey));
    this.publicKey = publicKeyLine(this.publicBlob);
    this.fingerprint = fingerprintOf(this.publicBlob);
  }

  /** The armored SSH signature (namespace `git`) of `payload`. */
  sign(payload: Uint8Array) {
    return signSsh(this.#privateKey, this.publicBlob, payload);
  }

  /** Reads the key of the data directory; undefined when there is none yet. */
  static read(dataDir: string): SigningKey | undefined {
    const path = signingKeyPath(dataDir);
    let pem: string;
    try {
      pem = readFileSync(path, "utf8");
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return undefined;
      throw new SigningKeyError(`${path} cannot be read (${code}): fix its permissions, or restore it from a backup`);
    }
    let key: KeyObject | undefined;
    try {
      key = createPrivateKey({ key: pem, format: "pem" });
    } catch {
      // The reason from the parser is left out: it could quote the file.
    }
    if (key?.asymmetricKeyType !== "ed25519") {
      throw new SigningKeyError(
        `${path} is not an Ed25519 private key (damaged?): restore it from a backup. gitchat does not replace it, since a new key is a new identity for this server's commits`,
      );
    }
    return new SigningKey(key);
  }

  /** The data directory's key, made now (durably, 0600) if it has none; `created` says which. The caller holds the directory's lock. */
  static loadOrCreate(dataDir: string, durable: boolean): { key: SigningKey; created: boolean } {
    const path = signingKeyPath(dataDir);
    // A key half-made by a killed start (it holds a private key): never used, removed.
    for (const name of readdirSync(dataDir)) if (name.startsWith(`${basename(path)}.tmp-`)) rmSync(join(dataDir, name), { force: true });
    const existing = SigningKey.read(dataDir);
    if (existing) return { key: existing, created: false };
    const { privateKey } = generateKeyPairSync("ed25519");
    const tmp = `${path}.tmp-${process.pid}`;
    try {
      writeNewFile(tmp, privateKey.export({ type: "pkcs8", format: "pem" }) as string, durable, 0o600);
      if (existsSync(path)) throw new SigningKeyError(`${path} appeared while this gitchat was making one: is another gitchat starting on the same data directory?`);
      renameSync(tmp, path);
    } finally {
      rmSync(tmp, { force: true });
    }
    syncPath(dataDir, durable);
    return { key: new SigningKey(privateKey), created: true };
  }

  /** What signs a channel's commits: this key, the server as committer, and the signer file naming it. */
  signer(committer: { name: string; email: string }): CommitSigner {
    return {
      committer,
      sign: (payload) => this.sign(payload),
      file: {
        dir: SIGNERS_DIR,
        name: signerFileName(this.fingerprint),
        content: new TextEncoder().encode(allowedSignerLine(committer.email, this.publicBlob)),
      },
    };
  }
}
