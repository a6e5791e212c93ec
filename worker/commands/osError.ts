// Python's strerror and errno for a Node system error, as Buildbot's headers and rc carry them.
import { getSystemErrorMap } from 'node:util';

/**
 * glibc's strerror where libuv words it otherwise: Python's e.strerror is glibc's, and Buildbot prints it
 * (the conformance suite compares our headers with the stock worker's).
 */
const GLIBC_WORDS: Record<string, string> = {
  EEXIST: 'File exists',
  EISDIR: 'Is a directory',
  ELOOP: 'Too many levels of symbolic links',
  ENAMETOOLONG: 'File name too long',
  EBUSY: 'Device or resource busy',
  EXDEV: 'Invalid cross-device link',
  ENOTEMPTY: 'Directory not empty',
};

/** Python's e.strerror for a Node system error: "No such file or directory". */
export function strerror(error: NodeJS.ErrnoException): string {
  const message =
    GLIBC_WORDS[error.code ?? ''] ??
    (error.errno !== undefined ? getSystemErrorMap().get(error.errno)?.[1] : undefined) ??
    error.message;
  return `${message.charAt(0).toUpperCase()}${message.slice(1)}`;
}

/** Python's e.errno (positive), or 1 when the error has none. */
export function errnoOf(error: NodeJS.ErrnoException): number {
  return error.errno !== undefined ? Math.abs(error.errno) : 1;
}

/** Only operating-system errors become rc and a header; anything else is a bug and propagates. */
export function isSystemError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string';
}
