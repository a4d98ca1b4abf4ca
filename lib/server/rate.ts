/** The server's flood control: the token buckets of lib/common/rate.ts (their one home; the peer listener uses them too). */
export { KeyedBuckets, TokenBucket } from "../common/rate.ts";
