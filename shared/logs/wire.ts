// Owns the wire of log objects: how a worker names a text run it put in S3, and the upload the API answers for it.
import * as v from 'valibot';
import { fields, integer, text } from '../schema.ts';
import * as LIMITS from '../limits.ts';

/**
 * `object` of POST .../updates: the text run of seqs `first`.. (one per part of `parts`, as text runs store
 * them: "o65536,e12") is an S3 object with this sha256 (hex), which the API names logs/<id>/<first>-<sha256>.
 * `packed` is the worker's estimate of its compressed size: reads then know not to compress it again.
 */
export const logObjectRef = fields({
  first: integer(0),
  parts: text({
    minLength: 2,
    maxLength: LIMITS.updatesPerBatch * 12,
    pattern: /^[oeh][0-9]+(,[oeh][0-9]+)*$/,
  }),
  sha256: text({ minLength: 64, maxLength: 64, pattern: /^[0-9a-f]{64}$/ }),
  packed: integer(0),
  /**
   * The worker has PUT the object (to the URL an earlier answer gave): only then does the API check S3
   * (a HEAD of its size) and record the run. Without it the API answers the upload and checks nothing.
   */
  stored: v.optional(v.boolean()),
});
export type LogObjectRef = v.InferOutput<typeof logObjectRef>;

/**
 * `upload` of the updates answer: the object is not stored yet (or not whole), so nothing was recorded. PUT
 * the text to `url` with exactly these `headers` (its SHA-256 and length, which the URL is signed for), then
 * send the same request again.
 */
export const logObjectUpload = v.object({
  url: v.string(),
  headers: v.record(v.string(), v.string()),
});
export type LogObjectUpload = v.InferOutput<typeof logObjectUpload>;
