/**
 * What `refs/heads/main` holds on disk, read strictly: a loose ref file, or
 * else a line of `packed-refs`. A ref that is empty or not a commit id is
 * damage to report, never a branch to start again from.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

export const BRANCH = "main";
export const REF = `refs/heads/${BRANCH}`;

export type BranchState =
  | { kind: "ok"; oid: string }
  | { kind: "missing" }
  | { kind: "empty" }
  | { kind: "garbled"; text: string };

const OID = /^[0-9a-f]{40}$/;

const readText = (path: string) => {
  try {
    return readFileSync(path, "latin1");
  } catch (error) {
    if ((error as { code?: string }).code === "ENOENT") return undefined;
    throw error;
  }
};

export const readBranch = (gitdir: string, ref = REF): BranchState => {
  const text = readText(join(gitdir, ref));
  if (text === undefined) {
    const packed = readText(join(gitdir, "packed-refs"));
    const line = packed?.split("\n").find((l) => l.endsWith(` ${ref}`));
    const oid = line?.slice(0, 40);
    if (oid === undefined) return { kind: "missing" };
    return OID.test(oid) ? { kind: "ok", oid } : { kind: "garbled", text: line! };
  }
  const value = text.trim();
  if (value === "") return { kind: "empty" };
  return OID.test(value) ? { kind: "ok", oid: value } : { kind: "garbled", text: value };
};

/** The state in a few words, for an error line: "missing", "empty", "garbled (\"xyz\")", or the commit it names. */
export const describeBranch = (state: BranchState) => {
  switch (state.kind) {
    case "ok":
      return `names ${state.oid}`;
    case "missing":
      return "is missing";
    case "empty":
      return "is empty";
    case "garbled":
      return `is garbled (${JSON.stringify(state.text.slice(0, 40))})`;
  }
};
