// The bbs CLI's own errors: in-process only, each with a stable code (docs/errors.md).
import { BuildbotError } from '../shared/errors.ts';

/** The user asked for something `bbs` cannot do as written; the message says what to type instead. */
export class UsageError extends BuildbotError {
  static override readonly code = 'cli_usage';
  static override readonly httpStatus = undefined;
}

/** npm start will not write its tokens into a directory that is a link or another user's (cli/stackFile.ts). */
export class StackFileDirectoryError extends BuildbotError {
  static override readonly code = 'stack_file_directory_refused';
  static override readonly httpStatus = undefined;
}
