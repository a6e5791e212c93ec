// Owns every limit of the service: sizes, counts and durations that bound what is accepted, stored and answered.

export const LIMITS = {
  /** Finished commands and their update items expire this long after they were written (DynamoDB TTL). @default 30 days */
  retentionSeconds: 30 * 24 * 3600,
  /**
   * What may grow a command record, bounded so that it stays far below DynamoDB's 400 KB item limit and
   * every ending write fits (docs/limits.md adds them up). Nesting of args and of an update's `stat` or
   * `files` (objects and arrays; a scalar is 0): bounds every reader's recursion. @default 64
   */
  jsonDepth: 64,
  /** Keys of a command's decodeRC, each an rc as decimal text (`"0"`, `"-15"`, at most 11 characters). @default 256 */
  decodeRCKeys: 256,
  /** Distinct `{log: [name, text]}` names of one command: the record keeps them. @default 64 */
  logNamesPerCommand: 64,
  /** Characters of one log name. @default 256 */
  logNameLength: 256,
} as const;
