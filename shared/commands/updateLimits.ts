// Owns the size limits of updates: a worker's request body (compressed and inflated), a stored run, and when stdio text becomes a text run.

/**
 * Fragment bytes above which a stored run is compressed into a Binary attribute. DynamoDB bills a write per KB,
 * so a run just over 1 KB (a shell command's headers) costs 1 WRU compressed instead of 2-3. @default 1 KiB
 */
export const COMPRESS_AT_REST_BYTES = 1024;
/** Compressed bytes a stored run aims at when a batch must be cut. @default 300 KB */
export const ITEM_TARGET_BYTES = 300 * 1000;
/** Largest stored payload of one item (DynamoDB allows 400 KB including keys). @default 380 KB */
export const ITEM_PAYLOAD_MAX_BYTES = 380 * 1000;
/** Largest fragment of one run, decompressed: what one read of one item may cost in memory. @default 16 MiB */
export const ITEM_RAW_MAX_BYTES = 16 * 1024 * 1024;

/**
 * Largest body of a worker's request (updates, complete) after decompression. Bodies stay bounded on the
 * wire by UPDATES_WIRE_MAX_BYTES, so this bounds only the work and memory of one request. @default 16 MiB
 */
export const UPDATES_BODY_MAX_BYTES = 16 * 1024 * 1024;
/**
 * Largest compressed body a worker sends: a Lambda takes 6 MB of event, and a binary body arrives base64
 * (4/3 larger) in it. @default 3 MiB
 */
export const UPDATES_WIRE_MAX_BYTES = 3 * 1024 * 1024;

/**
 * Text of consecutive stdio updates at least this long is stored as a text run; shorter stretches (a
 * short command's headers) stay in the fragment of their batch, one item. @default 64 KiB
 */
export const TEXT_RUN_MIN_BYTES = 64 * 1024;
