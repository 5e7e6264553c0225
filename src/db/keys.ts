/**
 * How the index stores a message id, a time and a commit hash: in the smallest
 * form that reads back exactly as the text, and otherwise as the text itself
 * (a column holds either: SQLite's types are per value). Each is a function of
 * the text alone, so a lookup finds what an insert stored; the migration to
 * the compact index converts with the same rules in SQL (the *Sql twins).
 */
const hex = (n: number) => "[0-9a-f]".repeat(n);
const UUID_GLOB = [hex(8), hex(4), hex(4), hex(4), hex(12)].join("-");
const HASH_GLOB = hex(40);
const TIME_GLOB = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const HASH = /^[0-9a-f]{40}$/;

/** A message id as the index stores it: a canonical (lower-case) UUID as its 16 bytes, any other text as it is. */
export const messageKey = (id: string): Uint8Array | string => (UUID.test(id) ? Buffer.from(id.replaceAll("-", ""), "hex") : id);
export const messageText = (key: Uint8Array | string) => {
  if (typeof key === "string") return key;
  const h = Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};
/** A time as the index stores it: milliseconds since the epoch when they give back the same ISO text, else the text. */
export const timeKey = (iso: string): number | string => {
  const ms = Date.parse(iso);
  return !Number.isNaN(ms) && new Date(ms).toISOString() === iso ? ms : iso;
};
export const timeText = (key: number | string) => (typeof key === "number" ? new Date(key).toISOString() : key);
/** A commit hash as the index stores it: 20 bytes for 40 lower-case hex digits, else the text. */
export const hashKey = (hash: string): Uint8Array | string => (HASH.test(hash) ? Buffer.from(hash, "hex") : hash);
export const hashText = (key: Uint8Array | string) =>
  typeof key === "string" ? key : Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString("hex");

export function messageKeySql(column: string) {
  return `CASE WHEN ${column} GLOB '${UUID_GLOB}' THEN unhex(replace(${column}, '-', '')) ELSE ${column} END`;
}
export function hashKeySql(column: string) {
  return `CASE WHEN ${column} GLOB '${HASH_GLOB}' THEN unhex(${column}) ELSE ${column} END`;
}
export function timeKeySql(column: string) {
  const ms = `CAST(round(unixepoch(${column}, 'subsec') * 1000) AS INTEGER)`;
  return `CASE WHEN ${column} GLOB '${TIME_GLOB}' AND strftime('%Y-%m-%dT%H:%M:%fZ', ${ms} / 1000.0, 'unixepoch') = ${column}
    THEN ${ms} ELSE ${column} END`;
}

