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

/** The disk holding the data directory is full (ENOSPC from git's files, SQLITE_FULL from the index). */
export class DiskFullError extends AppError {
  override readonly code = "disk_full";
  override readonly status = 507;
  constructor(readonly detail = "") {
    super(
      "the disk holding gitchat's data directory is full, so this request could not be completed. " +
        "Free space on that disk (or give it more), then try again: a message sent again with the same Idempotency-Key is never stored twice",
    );
  }
}

/** The data directory cannot be written (a read-only file system, or permissions changed under us). */
export class DataDirReadOnlyError extends AppError {
  override readonly code = "data_dir_read_only";
  override readonly status = 503;
  constructor(readonly detail = "") {
    super(
      "gitchat cannot write to its data directory (the file system is read-only, or its permissions changed), " +
        "so this request could not be completed. Make the data directory writable again, then try again",
    );
  }
}

/**
 * What the file system or SQLite throws when the data directory cannot take
 * a write, as one of the errors above; undefined for anything else. `detail`
 * keeps the original text for the log (it may hold a path; never sent).
 */
export const storageFailure = (error: unknown): DiskFullError | DataDirReadOnlyError | undefined => {
  if (error instanceof DiskFullError || error instanceof DataDirReadOnlyError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return undefined;
  const detail = error instanceof Error ? error.message : String(error);
  // EDQUOT: a quota is a full disk for this user. SQLite reports ENOSPC on its own files as SQLITE_FULL.
  if (code === "ENOSPC" || code === "EDQUOT" || code === "SQLITE_FULL") return new DiskFullError(detail);
  if (code === "EROFS" || code === "EACCES" || code === "EPERM" || code.startsWith("SQLITE_READONLY")) return new DataDirReadOnlyError(detail);
  return undefined;
};
