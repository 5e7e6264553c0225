/**
 * A repository's object database: loose objects, packs, and the open batch
 * (the objects of the commit being written, held until they go to disk as
 * one small pack). It stores and reads objects by id and knows nothing of
 * refs, trees or commits; ChannelStore decides when a batch opens and when it
 * is flushed, before the ref that names its commit moves.
 */
import { existsSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { inflateSync } from "node:zlib";
import { StoreIntegrityError } from "../errors.ts";
import { makeDirectory, syncPathAsync, writeNewFileAsync } from "./durable.ts";
import { PackFileWriter, indexPackFile } from "./index-pack.ts";
import { hashObject, writeLooseObject, type ObjectType } from "./objects.ts";
import { PackReader } from "./pack-reader.ts";
import { buildIndex, PackWriter, type IndexEntry, type ObjectTable } from "./packfile.ts";

let packCounter = 0;

export const readLooseFile = (path: string) => {
  const raw = inflateSync(readFileSync(path));
  const space = raw.indexOf(0x20);
  const nul = raw.indexOf(0, space);
  const type = raw.toString("latin1", 0, space) as ObjectType;
  return { type, content: raw.subarray(nul + 1) };
};

let installs = 0;

/**
 * Moves a written (and, with `sync`, already synced) pack into place and
 * writes its index beside it; the pack becomes visible to readers only when
 * the index appears, whole. With `sync`, both names are on the disk when
 * this resolves. `installed` is told the pack's name as soon as both are in
 * place, before the directory's sync: with no await in between, so that no
 * background pack can find (and fold) a pack before the caller registers it.
 */
export const installPack = async (
  packDir: string,
  tmpPack: string,
  entries: readonly IndexEntry[] | ObjectTable,
  checksum: Uint8Array,
  sync: boolean,
  installed?: (name: string) => void,
) => {
  const name = `pack-${Buffer.from(checksum).toString("hex")}`;
  // A name of its own: a background pack and a commit may be installing at once.
  const tmpIdx = join(packDir, `tmp_idx_${process.pid}_${++installs}`);
  // The index is written (and synced) before the pack is renamed: a full disk
  // then leaves only temporaries (removed here and by the caller), never a pack without its index.
  try {
    await writeNewFileAsync(tmpIdx, buildIndex(entries, checksum), sync);
    renameSync(tmpPack, join(packDir, `${name}.pack`));
    renameSync(tmpIdx, join(packDir, `${name}.idx`));
  } catch (error) {
    rmSync(tmpIdx, { force: true });
    throw error;
  }
  installed?.(name);
  await syncPathAsync(packDir, sync);
  return name;
};

export class ObjectDatabase {
  private readonly packs: PackReader;
  /** Objects written loose or into small packs since the last background pack. */
  unpacked = 0;
  /** Objects of the commit being written, held until they go to disk as one pack. */
  private batch: Map<string, { type: ObjectType; content: Uint8Array }> | undefined;

  constructor(
    readonly gitdir: string,
    /** Whether writes are fsynced (DURABILITY=full). */
    readonly sync: boolean,
  ) {
    this.packs = new PackReader(gitdir);
  }

  /** Opens a batch: objects put from now on are held until flushBatch writes them as one pack. */
  openBatch() {
    this.batch = new Map();
  }

  /** Drops the batch (flushed or not): objects put from now on are written loose. */
  closeBatch() {
    this.batch = undefined;
  }

  /** Stores an object: into the open batch, or else as a loose object. */
  putObject(type: ObjectType, content: Uint8Array) {
    if (!this.batch) {
      this.unpacked++;
      return writeLooseObject(this.gitdir, type, content, this.sync);
    }
    const { oid } = hashObject(type, content);
    this.batch.set(oid, { type, content });
    return oid;
  }

  /**
   * Writes the open batch as one small pack (two files, where loose objects
   * would be one file each: a commit of 25 messages is ~33 objects) and
   * registers it with the reader. Small packs are folded into one by the
   * background pack.
   */
  async flushBatch() {
    const batch = this.batch!;
    this.batch = undefined;
    if (batch.size === 0) return;
    const chunks: Uint8Array[] = [];
    const writer = new PackWriter(batch.size, (bytes) => chunks.push(bytes));
    for (const [oid, { type, content }] of batch) writer.add(oid, type, content);
    const checksum = writer.finish();
    await this.writePack(Buffer.concat(chunks), writer.entries, checksum);
    this.unpacked += batch.size;
  }

  /**
   * Puts a whole pack in place with its index, each synced before the rename
   * that publishes it and the directory synced after, and tells the reader.
   */
  private async writePack(data: Uint8Array, entries: readonly IndexEntry[], checksum: Uint8Array) {
    const packDir = join(this.gitdir, "objects", "pack");
    makeDirectory(packDir, this.sync);
    const tmp = join(packDir, `tmp_pack_${process.pid}_${++packCounter}`);
    try {
      await writeNewFileAsync(tmp, data, this.sync);
      // The reader learns of the pack the moment it is in place (see installPack).
      await installPack(packDir, tmp, entries, checksum, this.sync, (name) => this.packs.add(name, join(packDir, `${name}.pack`), entries));
    } catch (error) {
      // A full disk leaves no half-written pack behind.
      rmSync(tmp, { force: true });
      throw error;
    }
  }

  async hasObject(oid: string) {
    return existsSync(join(this.gitdir, "objects", oid.slice(0, 2), oid.slice(2))) || this.packs.has(oid);
  }

  /** An object's type and content, loose or packed. */
  async readObject(oid: string): Promise<{ type: ObjectType; content: Uint8Array }> {
    const pending = this.batch?.get(oid);
    if (pending) return pending;
    // Packs this process knows first: a loose read that fails costs an
    // exception, and reading a packed history (a rebuild) is nearly all misses.
    const known = this.packs.readKnown(oid);
    if (known) return known as { type: ObjectType; content: Uint8Array };
    const loose = join(this.gitdir, "objects", oid.slice(0, 2), oid.slice(2));
    try {
      return readLooseFile(loose);
    } catch (error) {
      if ((error as { code?: string }).code !== "ENOENT") throw error;
    }
    // Packing may have moved it between the two looks.
    const packed = this.packs.read(oid) ?? (existsSync(loose) ? readLooseFile(loose) : undefined);
    if (!packed) throw new StoreIntegrityError(`object ${oid} is missing from ${this.gitdir}`);
    return packed as { type: ObjectType; content: Uint8Array };
  }

  /** A packed object's entry as stored (see PackReader.storedEntry); undefined when it is loose or unknown. */
  storedEntry(oid: string) {
    // The packs already open first: most objects are there, and a look for a loose file costs a system call.
    const known = this.packs.storedEntry(oid, false);
    if (known) return known;
    if (existsSync(join(this.gitdir, "objects", oid.slice(0, 2), oid.slice(2)))) return undefined;
    return this.packs.storedEntry(oid);
  }

  /**
   * Receives a pack from a remote as one more pack of this repository:
   * `fill` hands its bytes to the sink as they arrive (resolving false when
   * there was nothing to fetch); they go straight to a temporary file in the
   * pack directory, which is then checked and indexed from the disk (see
   * index-pack.ts) and published as `writePack` publishes a pack: data and
   * index synced before their renames, the directory after. On any failure
   * the temporary file is removed: nothing half-written stays.
   */
  async receivePack(
    fill: (sink: (bytes: Uint8Array) => void) => Promise<boolean>,
    onObject?: (object: { oid: string; type: ObjectType | "tag" }) => void,
  ): Promise<{ objects: number; bytes: number }> {
    const packDir = join(this.gitdir, "objects", "pack");
    makeDirectory(packDir, this.sync);
    const file = new PackFileWriter(join(packDir, `tmp_pack_${process.pid}_${++packCounter}`));
    let objects = 0;
    try {
      if (!(await fill((bytes) => file.write(bytes)))) {
        file.close(false);
        rmSync(file.path, { force: true });
        return { objects: 0, bytes: 0 };
      }
      const checksum = file.checksum();
      const { table, count } = indexPackFile(file.path, file.size, onObject);
      file.close(this.sync);
      if (count === 0) {
        rmSync(file.path, { force: true });
        return { objects: 0, bytes: file.size };
      }
      objects = count;
      // The reader reads the index just written (a received pack can hold millions of objects) as soon as it is in place.
      await installPack(packDir, file.path, table, checksum, this.sync, () => this.packs.refresh());
    } catch (error) {
      try {
        file.close(false);
      } finally {
        rmSync(file.path, { force: true });
      }
      throw error;
    }
    return { objects, bytes: file.size };
  }

  /**
   * Counts loose objects, and removes the temporary files a killed process
   * left half-written (the caller holds the data directory's lock, so no
   * other writer can own them).
   */
  sweepLooseObjects() {
    const objects = join(this.gitdir, "objects");
    let count = 0;
    for (const dir of readdirSync(objects)) {
      const isFanout = /^[0-9a-f]{2}$/.test(dir);
      if (!isFanout && dir !== "pack") continue;
      for (const file of readdirSync(join(objects, dir))) {
        if (file.startsWith("tmp_")) rmSync(join(objects, dir, file), { force: true });
        else if (isFanout) count++;
      }
    }
    return count;
  }


  /** Tells the reader that a repack folded `folded` into a new pack. */
  packsRepacked(folded: readonly string[]) {
    this.packs.forget(folded);
    this.packs.refresh();
  }
}
