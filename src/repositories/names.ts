/** GitHub's rules for account and repository names, so no channel is created that GitHub would refuse. */
import { InvalidInputError, UnknownRepositoryError } from "../errors.ts";

const OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;
const NAME = /^[A-Za-z0-9._-]{1,100}$/;

export const checkOwner = (owner: string) => {
  if (!OWNER.test(owner)) {
    throw new InvalidInputError(
      `owner ${JSON.stringify(owner)} is not a valid GitHub account name: use 1 to 39 letters, digits or single hyphens, not at the start or end`,
    );
  }
};

export const checkName = (name: string) => {
  if (!NAME.test(name) || name === "." || name === ".." || name.toLowerCase().endsWith(".git")) {
    throw new InvalidInputError(
      `name ${JSON.stringify(name)} is not a valid GitHub repository name: use 1 to 100 letters, digits, ".", "-" or "_" (not "." or "..", not ending in ".git")`,
    );
  }
};

/** Splits "owner/name" and checks both halves. */
export const parseFullName = (fullName: string) => {
  const parts = fullName.split("/");
  if (parts.length !== 2) {
    throw new InvalidInputError(`repository ${JSON.stringify(fullName)} is not of the form "owner/name"`);
  }
  const [owner, name] = parts as [string, string];
  checkOwner(owner);
  checkName(name);
  return { owner, name };
};

/** The 404 of a channel that does not exist, the same wherever it is looked up: also for a private one, to whoever is not in it (repositories/access.ts). */
export const unknownRepository = (owner: string, name: string) =>
  new UnknownRepositoryError(`repository ${owner}/${name} does not exist; create it with POST /repositories`);
