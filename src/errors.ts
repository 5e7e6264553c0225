/**
 * Errors with stable codes. Every error a user can cause is one of these; the
 * HTTP layer maps `status` and `code` to `{error: {code, message}}` in one place,
 * the CLI prints `message` alone. Messages say what was wrong and what to do,
 * and never carry a secret or a stack trace.
 */
export class AppError extends Error {
  readonly code: string = "internal_error";
  readonly status: number = 500;

  toJSON() {
    return { code: this.code, message: this.message };
  }
}

export class InvalidInputError extends AppError {
  override readonly code = "invalid_input";
  override readonly status = 400;
}

export class InvalidJsonError extends AppError {
  override readonly code = "invalid_json";
  override readonly status = 400;
}

export class NotFoundError extends AppError {
  override readonly code = "not_found";
  override readonly status = 404;
}

export class UnknownRepositoryError extends AppError {
  override readonly code = "unknown_repository";
  override readonly status = 404;
}

export class ConflictError extends AppError {
  override readonly code = "conflict";
  override readonly status = 409;
}

export class PayloadTooLargeError extends AppError {
  override readonly code = "payload_too_large";
  override readonly status = 413;
}

export class UnsupportedMediaTypeError extends AppError {
  override readonly code = "unsupported_media_type";
  override readonly status = 415;
}

/** A setting that cannot work; the CLI prints the message and exits with code 2. */
export class ConfigError extends AppError {
  override readonly code = "config_error";
}

/** Another gitchat already owns the data directory. */
export class DataDirLockedError extends AppError {
  override readonly code = "data_dir_locked";
}

/** The git store holds something it should not (a tampered or corrupt object). */
export class StoreIntegrityError extends AppError {
  override readonly code = "store_integrity";
}

/**
 * A channel's own files are damaged (a ref missing, garbled or moved under
 * the server, a truncated pack): nothing is written on top of them until
 * `gitchat repair` has run. The message names the file and the command.
 */
export class DamagedStoreError extends AppError {
  override readonly code = "store_damaged";
  override readonly status = 503;
}

/** The SQLite index cannot be read (a damaged file): `gitchat rebuild` recreates it from git. */
export class DatabaseDamagedError extends AppError {
  override readonly code = "database_damaged";
  override readonly status = 503;
}

/**
 * The data directory (or a file in it) cannot be written: a read-only mount,
 * or no permission. At start-up the CLI exits with code 2, like a bad setting.
 */
export class ReadOnlyStorageError extends AppError {
  override readonly code = "storage_read_only";
  override readonly status = 503;
}

/** The disk holding the data directory is full (ENOSPC from git's files, SQLITE_FULL from the index). */
export class DiskFullError extends AppError {
  override readonly code = "disk_full";
  override readonly status = 507;
  constructor(
    message = "the disk holding gitchat's data directory is full, so this request could not be completed. " +
      "Free space on that disk (or give it more), then try again: a message sent again with the same Idempotency-Key is never stored twice",
  ) {
    super(message);
  }
}

const READ_ONLY_ERRNO = new Set(["EROFS", "EACCES", "EPERM"]);

/**
 * The error with a stable code that a failure of the file system or of
 * SQLite stands for (a full disk, a read-only one, a damaged index), or
 * undefined when it is none we know (a bug: 500).
 * `where` names the file or directory when the caller knows it.
 */
export const storageFailure = (error: unknown, where?: string): AppError | undefined => {
  if (error instanceof AppError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return undefined;
  // A temporary file's name means nothing to a reader: name its directory.
  const path = where ?? (error as { path?: string }).path?.replace(/\/tmp_[^/]*$/, "");
  const at = path ? `${path} ` : "the data directory ";
  // EDQUOT: a quota is a full disk for this user. SQLite reports ENOSPC on its own files as SQLITE_FULL.
  if (code === "ENOSPC" || code === "EDQUOT" || code === "SQLITE_FULL") return new DiskFullError();
  if (READ_ONLY_ERRNO.has(code) || code.startsWith("SQLITE_READONLY")) {
    const why = code === "EROFS" || code.startsWith("SQLITE_READONLY") ? "it is read-only" : "permission denied";
    return new ReadOnlyStorageError(
      `${at}cannot be written (${why}); remount it read-write or give gitchat write access to it, then try again`,
    );
  }
  if (code === "SQLITE_NOTADB" || code.startsWith("SQLITE_CORRUPT")) {
    return new DatabaseDamagedError(
      `${where ? `the index ${where}` : "the SQLite index"} is damaged (${(error as Error).message}); stop gitchat and run \`gitchat rebuild\` to recreate it from git`,
    );
  }
  return undefined;
};

/** The remote refused our credentials (401), or they may not do this (403). */
export class RemoteAuthError extends AppError {
  override readonly code = "remote_auth";
  override readonly status = 502;
}

/** The remote repository does not exist (or the token may not see it). */
export class RemoteNotFoundError extends AppError {
  override readonly code = "remote_not_found";
  override readonly status = 502;
}

/** The remote could not be reached or failed (network, 5xx, rate limit): try again later. */
export class RemoteUnavailableError extends AppError {
  override readonly code = "remote_unavailable";
  override readonly status = 503;
  constructor(message: string, readonly retryAfterMs?: number) {
    super(message);
  }
}

/** The remote's branch moved since we looked: fetch, merge and push again. */
export class PushRejectedError extends AppError {
  override readonly code = "push_rejected";
  override readonly status = 409;
}

/** Two requests used one Idempotency-Key for different messages: a client bug, never a replay. */
export class IdempotencyKeyReusedError extends AppError {
  override readonly code = "idempotency_key_reused";
  override readonly status = 422;
}



/**
 * The server's signing key (DATA_DIR/signing-key.pem) cannot be read: start-up
 * stops rather than make a new key, which would be a new identity. The
 * message names the file, never its content.
 */
export class SigningKeyError extends AppError {
  override readonly code = "signing_key_unreadable";
}

/** No credentials, or ones that are wrong, expired or revoked: sign in, or send a valid token. */
export class UnauthorizedError extends AppError {
  override readonly code = "unauthorized";
  override readonly status = 401;
}

/** The caller is known but may not do this (a member calling an admin's route). */
export class ForbiddenError extends AppError {
  override readonly code = "forbidden";
  override readonly status = 403;
}

/** No account has this login (or it was removed). */
export class UnknownUserError extends AppError {
  override readonly code = "unknown_user";
  override readonly status = 404;
}

/** Members are chosen only for a private channel: every account sees a public one. */
export class ChannelPublicError extends AppError {
  override readonly code = "channel_public";
  override readonly status = 409;
}

/** A channel's creator stays one of its members. */
export class CreatorStaysError extends AppError {
  override readonly code = "creator_stays";
  override readonly status = 409;
}

/** An account has, or had, this login: a login names one person for ever (it is their messages' id). */
export class LoginTakenError extends AppError {
  override readonly code = "login_taken";
  override readonly status = 409;
}

/** An invite link that was used already, or is older than 24 hours: an admin makes a new one. */
export class InviteUnusableError extends AppError {
  override readonly code = "invite_unusable";
  override readonly status = 410;
}

/** Too many attempts (password logins): wait `retryAfter` seconds. */
export class RateLimitedError extends AppError {
  override readonly code = "rate_limited";
  override readonly status = 429;
  constructor(message: string, readonly retryAfter: number) {
    super(message);
  }
}

/** No message with this id in a channel the caller sees (the same answer for one in a channel they do not see). */
export class UnknownMessageError extends AppError {
  override readonly code = "unknown_message";
  override readonly status = 404;
}

/** The message was deleted: it can no longer be edited, reacted to or replied to. */
export class MessageDeletedError extends AppError {
  override readonly code = "message_deleted";
  override readonly status = 409;
}
